// Statistics for a date range, by day, week or month: first the overview across all coupons
// (GET /admin/stats), then one coupon's charts (GET /stats/{id}). Every chart has its table beside
// it, and every view downloads as CSV.
import * as api from './api.js';
import { chartFigure } from './charts.js';
import { count, csvRows, day, download, h, isolate, money, period, put } from './format.js';

const METRICS = [
  ['redemptions', 'Redemptions', 'count'],
  ['redeeming_users', 'Redeeming customers', 'count'],
  ['rollbacks', 'Rollbacks', 'count'],
  ['discount_given', 'Discount given', 'money'],
  ['gross_merchandise_value', 'Gross merchandise value', 'money'],
  ['codes_distributed', 'Codes distributed', 'count'],
  ['cashback_points', 'Cashback points', 'count'],
];
const GROUPS = [
  ['activity', 'Redemptions, customers and rollbacks', ['redemptions', 'redeeming_users', 'rollbacks']],
  ['money', 'Discount given and gross merchandise value', ['discount_given', 'gross_merchandise_value']],
  ['distribution', 'Codes distributed and cashback points', ['codes_distributed', 'cashback_points']],
];

const whenConnected = (el) => new Promise((resolve) => {
  const tick = () => (el.isConnected ? resolve() : requestAnimationFrame(tick));
  tick();
});
const ymd = (ms) => new Date(ms).toISOString().slice(0, 10);
// Kept while the page is open.
const range = { from: ymd(Date.now() - 29 * 86400e3), to: ymd(Date.now()), granularity: 'day' };

/** Exact sum of decimal strings (BigInt in minor units), never a float. */
export function sumDecimal(values) {
  const scale = Math.max(0, ...values.map((v) => (String(v).split('.')[1] ?? '').length));
  const units = values.reduce((a, v) => {
    const [i, f = ''] = String(v).split('.');
    return a + BigInt(i) * 10n ** BigInt(scale) + BigInt((f + '0'.repeat(scale)).slice(0, scale) || '0');
  }, 0n);
  if (!scale) return units.toString();
  const s = units.toString().padStart(scale + 1, '0');
  return `${s.slice(0, -scale)}.${s.slice(-scale)}`;
}

function totalsOf(periods) {
  const t = {};
  for (const [key, , kind] of METRICS) {
    const vals = periods.map((p) => p[key] ?? 0);
    t[key] = kind === 'money' ? sumDecimal(vals.map(String)) : vals.reduce((a, v) => a + Number(v), 0);
  }
  return t;
}

export async function render(root, { store, param: couponId }) {
  const { manifest, coupons } = await store.coupons();
  const cur = manifest.currency;
  const fmt = (kind) => (kind === 'money' ? (v) => money(v, cur) : (v) => count(Number(v)));
  const coupon = couponId ? coupons.find((c) => c.id === couponId) : null;
  if (couponId && !coupon) throw Object.assign(new Error(`No coupon ${couponId} in the current version.`), { code: 'COUPON_NOT_FOUND' });

  const fromIn = h('input', { id: 'st-from', type: 'date', value: range.from, required: true });
  const toIn = h('input', { id: 'st-to', type: 'date', value: range.to, required: true });
  const granIn = h('select', { id: 'st-granularity' }, h('option', { value: 'day' }, 'Day'), h('option', { value: 'week' }, 'Week'), h('option', { value: 'month' }, 'Month'));
  granIn.value = range.granularity;
  const err = h('p', { class: 'error small', id: 'st-error', 'aria-live': 'assertive' });
  const form = h(
    'form',
    { class: 'filters', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'st-from' }, 'From'), fromIn),
    h('div', { class: 'field' }, h('label', { for: 'st-to' }, 'To'), toIn),
    h('div', { class: 'field' }, h('label', { for: 'st-granularity' }, 'Group by'), granIn),
    h('button', { type: 'submit' }, 'Show'),
  );
  const status = h('p', { class: 'muted small', role: 'status', 'aria-live': 'polite', id: 'st-status' });
  const body = h('div', { id: 'stats-body' });
  let figures = [];

  async function show() {
    err.textContent = '';
    if (!fromIn.value || !toIn.value || fromIn.value > toIn.value) {
      err.textContent = 'Choose a start date on or before the end date.';
      return;
    }
    Object.assign(range, { from: fromIn.value, to: toIn.value, granularity: granIn.value });
    status.textContent = 'Loading…';
    const params = { ...range };
    let data;
    try {
      data = couponId ? await api.couponStats(couponId, params) : await api.overviewStats(params);
    } catch (e) {
      status.textContent = '';
      err.textContent = e.message;
      return;
    }
    for (const f of figures) f.destroy();
    const periods = data.periods ?? [];
    const totals = data.totals ?? totalsOf(periods);
    const per = { day: 'day', week: 'week', month: 'month' }[range.granularity];
    figures = GROUPS.map(([id, title, keys]) =>
      chartFigure({
        id,
        title: `${title}, per ${per}`,
        rows: periods,
        periodLabel: period,
        series: keys.map((k) => {
          const [, label, kind] = METRICS.find(([m]) => m === k);
          return { key: k, label, format: fmt(kind), axis: kind === 'money' ? (v) => money(String(v), cur) : undefined, sum: (rows) => (kind === 'money' ? sumDecimal(rows.map((r) => String(r[k] ?? 0))) : rows.reduce((a, r) => a + Number(r[k] ?? 0), 0)) };
        }),
      }),
    );
    const csvName = `${couponId ?? 'all-coupons'}-stats-${range.from}-to-${range.to}-${range.granularity}.csv`;
    const csv = () => csvRows([['period', ...METRICS.map(([k]) => k)], ...periods.map((p) => [p.period, ...METRICS.map(([k]) => p[k] ?? 0)])]);
    body.replaceChildren();
    put(
      body,
      h(
        'dl',
        { class: 'figures totals', 'data-totals': '' },
        METRICS.map(([k, label, kind]) => h('div', { class: 'figure', 'data-metric': k, 'data-value': String(totals[k] ?? 0) }, h('dt', {}, label), h('dd', {}, fmt(kind)(String(totals[k] ?? 0))))),
      ),
      h('div', { class: 'export' }, h('button', { type: 'button', class: 'secondary', id: 'export-periods', onclick: () => download(csvName, csv()) }, `Download CSV (per ${per})`)),
      ...figures.map((f) => f.el),
      couponId ? null : couponTable(data.coupons ?? [], fmt),
    );
    // Chart.js measures its box: draw once the view is in the page (the first time, after render).
    const drawn = figures;
    whenConnected(root)
      .then(() => Promise.all(drawn.map((f) => f.draw())))
      .then(() => {
        status.textContent = `${coupon ? isolate(coupon.name) : 'All coupons'}, ${day(range.from)} to ${day(range.to)}, per ${per}.`;
        root.dataset.loaded = String(Date.now());
      })
      .catch((e) => (err.textContent = e.message));
  }

  function couponTable(rows, fmtOf) {
    const csv = () => csvRows([['coupon_id', 'name', ...METRICS.map(([k]) => k)], ...rows.map((r) => [r.coupon_id, r.name, ...METRICS.map(([k]) => r[k] ?? 0)])]);
    const sorted = [...rows].sort((a, b) => Number(b.redemptions ?? 0) - Number(a.redemptions ?? 0) || String(a.name).localeCompare(String(b.name)));
    return h(
      'section',
      { class: 'panel', 'aria-labelledby': 'by-coupon' },
      h('div', { class: 'title-row' }, h('h2', { id: 'by-coupon' }, 'By coupon'), h('button', { type: 'button', class: 'secondary', id: 'export-coupons', onclick: () => download(`coupons-stats-${range.from}-to-${range.to}.csv`, csv()) }, 'Download CSV')),
      h(
        'div',
        { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': 'Statistics by coupon' },
        h(
          'table',
          { class: 'numbers by-coupon' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Coupon'), METRICS.map(([, label]) => h('th', { scope: 'col', class: 'num' }, label)))),
          h(
            'tbody',
            {},
            sorted.map((r) =>
              h(
                'tr',
                { 'data-coupon': r.coupon_id },
                h('th', { scope: 'row' }, h('a', { href: `#stats/${encodeURIComponent(r.coupon_id)}` }, r.name ?? r.coupon_id)),
                METRICS.map(([k, , kind]) => h('td', { class: 'num', 'data-series': k, 'data-value': String(r[k] ?? 0) }, fmtOf(kind)(String(r[k] ?? 0)))),
              ),
            ),
          ),
        ),
      ),
    );
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    show();
  });

  put(root, 
    h('p', { class: 'crumbs' }, couponId ? [h('a', { href: '#stats' }, 'Stats'), ' / ', h('a', { href: `#coupon/${encodeURIComponent(couponId)}` }, coupon.name)] : null),
    h('h1', { tabindex: '-1' }, coupon ? `Stats: ${coupon.name}` : 'Stats: all coupons'),
    couponId ? null : h('p', { class: 'muted' }, 'Across every coupon of the price list in force. Pick a coupon below for its own charts.'),
    form,
    err,
    status,
    body,
  );
  await show();
}
