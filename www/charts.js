// Small hand-written SVG bar charts for the stats page. Heights are worked out in integers (money
// as minor units, BigInt), so no amount is turned into a float even to draw it.
const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** "12.5" -> 1250n at scale 2. Counts are integers and pass through at scale 0. */
export function toUnits(value, scale) {
  const [int, frac = ''] = String(value).split('.');
  return BigInt(int) * 10n ** BigInt(scale) + BigInt((frac + '0'.repeat(scale)).slice(0, scale) || '0');
}
/** The number of decimals to compare a series at: the most any value has. */
export const scaleOf = (values) => Math.max(0, ...values.map((v) => (String(v).split('.')[1] ?? '').length));

/**
 * A bar chart of `points` ([{ label, value }], value a count or a decimal string).
 * `format(value)` prints a value; `kind` only picks a colour (rollbacks in red).
 */
export function barChart({ title, points, format, kind = '' }) {
  const W = 300;
  const H = 120;
  const top = 14;
  const bottom = 16;
  const plot = H - top - bottom;
  const scale = scaleOf(points.map((p) => p.value));
  const units = points.map((p) => toUnits(p.value, scale));
  const max = units.reduce((a, b) => (b > a ? b : a), 0n);
  const n = Math.max(points.length, 1);
  const slot = W / n;
  const barW = Math.max(1, slot * 0.8);
  const total = units.reduce((a, b) => a + b, 0n);
  const peakAt = units.findIndex((u) => u === max);

  const summary = points.length === 0
    ? `${title}: no data`
    : `${title}: ${format(fromUnits(total, scale))} in all over ${points.length} periods` +
      (max > 0n ? `, highest ${format(points[peakAt].value)} in ${points[peakAt].label}` : '');
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': summary });
  chart.append(svg('title', {}, summary));
  chart.append(svg('text', { x: 0, y: 10 }, max > 0n ? `max ${format(points[peakAt].value)}` : 'none yet'));
  chart.append(svg('line', { class: 'axis', x1: 0, y1: top + plot + 0.5, x2: W, y2: top + plot + 0.5 }));
  points.forEach((p, i) => {
    // Integer division keeps BigInt exact; a bar with any value gets at least 1 px so it shows.
    let h = max > 0n ? Number((units[i] * BigInt(plot)) / max) : 0;
    if (units[i] > 0n && h < 1) h = 1;
    const bar = svg('rect', {
      class: `bar ${kind}`,
      x: (i * slot + (slot - barW) / 2).toFixed(2),
      y: top + plot - h,
      width: barW.toFixed(2),
      height: h,
      'data-period': p.label,
      'data-value': p.value,
    });
    bar.append(svg('title', {}, `${p.label}: ${format(p.value)}`));
    chart.append(bar);
  });
  if (points.length) {
    chart.append(svg('text', { x: 0, y: H - 3 }, points[0].label));
    if (points.length > 1) chart.append(svg('text', { x: W, y: H - 3, 'text-anchor': 'end' }, points[points.length - 1].label));
  }
  return chart;
}

export function fromUnits(units, scale) {
  if (scale === 0) return units.toString();
  const s = units.toString().padStart(scale + 1, '0');
  return `${s.slice(0, -scale)}.${s.slice(-scale)}`;
}
