// Charts with Chart.js 4 (npm `chart.js`, copied into /vendor/ by scripts/vendor.mjs; no network at
// run time), loaded only when a stats view opens. Every chart sits beside a table of the same
// numbers (the readable and exact version: screen readers, copying); the canvas says in its label
// what it shows. Money is drawn from the decimal strings: a bar's height is the only place an amount
// becomes a float, and tooltips and tables print the exact string.
import { h } from './format.js';

let lib;
export function loadChartLib() {
  lib ??= new Promise((resolve, reject) => {
    if (globalThis.Chart) return resolve(globalThis.Chart);
    const s = Object.assign(document.createElement('script'), { src: '/vendor/chart.umd.min.js', async: true });
    s.onload = () => resolve(globalThis.Chart);
    s.onerror = () => {
      lib = null;
      reject(Object.assign(new Error('The chart library could not be loaded (/vendor/chart.umd.min.js).'), { code: 'CHARTS_MISSING' }));
    };
    document.head.append(s);
  });
  return lib;
}

const COLORS = ['#0b5cad', '#c2410c', '#1d6b30', '#6d28d9'];

/**
 * A figure: a bar chart of `series` ({ key, label, format }) over `rows` (periods, each holding the
 * series' values as numbers or decimal strings) and a table of the same numbers beside it.
 * Returns { el, draw() }: draw() after the element is in the page (Chart.js measures its box).
 */
export function chartFigure({ id, title, rows, series, periodLabel }) {
  const canvas = h('canvas', { role: 'img', id: `chart-${id}` });
  const total = (s) => rows.reduce((a, r) => a + Number(r[s.key] ?? 0), 0);
  const top = (s) => rows.reduce((best, r) => (Number(r[s.key] ?? 0) > Number(best?.[s.key] ?? -1) ? r : best), null);
  canvas.setAttribute(
    'aria-label',
    `${title}, ${rows.length} periods. ` +
      series.map((s) => `${s.label}: ${s.format(String(s.sum ? s.sum(rows) : total(s)))} in all${top(s) && Number(top(s)[s.key]) > 0 ? `, most in ${periodLabel(top(s).period)}` : ''}`).join('; ') +
      '. The table beside the chart has every value.',
  );
  const table = h(
    'div',
    { class: 'chart-table scroll', tabindex: '0', role: 'region', 'aria-label': `${title}: the numbers` },
    h(
      'table',
      { class: 'numbers', 'data-chart': id },
      h('caption', { class: 'visually-hidden' }, title),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Period'), series.map((s) => h('th', { scope: 'col', class: 'num' }, s.label)))),
      h(
        'tbody',
        {},
        rows.map((r) =>
          h(
            'tr',
            { 'data-period': r.period },
            h('th', { scope: 'row' }, periodLabel(r.period)),
            series.map((s) => h('td', { class: 'num', 'data-series': s.key, 'data-value': String(r[s.key] ?? 0) }, s.format(String(r[s.key] ?? 0)))),
          ),
        ),
      ),
    ),
  );
  const el = h(
    'figure',
    { class: 'chart panel', 'data-chart': id },
    h('figcaption', {}, h('h3', {}, title)),
    h('div', { class: 'chart-body' }, h('div', { class: 'chart-canvas' }, canvas), table),
  );
  let chart;
  return {
    el,
    async draw() {
      const Chart = await loadChartLib();
      chart?.destroy();
      chart = new Chart(canvas, {
        type: 'bar',
        data: {
          labels: rows.map((r) => periodLabel(r.period)),
          datasets: series.map((s, i) => ({
            label: s.label,
            data: rows.map((r) => Number(r[s.key] ?? 0)),
            raw: rows.map((r) => String(r[s.key] ?? 0)),
            backgroundColor: COLORS[i % COLORS.length],
            borderRadius: 2,
            maxBarThickness: 28,
          })),
        },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          interaction: { mode: 'index', intersect: false },
          plugins: {
            legend: { position: 'bottom', labels: { boxWidth: 12 } },
            tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${series[ctx.datasetIndex].format(ctx.dataset.raw[ctx.dataIndex])}` } },
          },
          scales: {
            x: { ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 12 }, grid: { display: false } },
            y: { beginAtZero: true, ticks: { precision: 0, callback: (v) => series[0].axis?.(v) ?? v } },
          },
        },
      });
      // The newest periods are the ones read first: the table beside the chart starts scrolled to them.
      table.scrollTop = table.scrollHeight;
      el.dataset.drawn = 'true';
    },
    destroy: () => chart?.destroy(),
  };
}
