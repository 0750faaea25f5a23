// The stats page: for each coupon of the verified manifest, GET /stats/{coupon_id} drawn as small SVG
// bar charts (charts.js), with the numbers also in a table for screen readers and copying.
import { api, loadVerifiedManifest, verifiedPayload } from './engine.js';
import { barChart, fromUnits, scaleOf, toUnits } from './charts.js';
import { h, money } from './format.js';

const $ = (id) => document.getElementById(id);
const LOCALE = 'en-US';

const SERIES = [
  { key: 'redemptions', title: 'Redemptions', money: false },
  { key: 'discount_given', title: 'Discount given', money: true },
  { key: 'gross_merchandise_value', title: 'Gross merchandise value', money: true },
  { key: 'rollbacks', title: 'Rollbacks', money: false, kind: 'rollback' },
];

/**
 * The per-period rows of a GET /stats answer (`{ coupon_id, from, to, granularity, periods }`):
 * one for every period in the range, oldest first, including those without activity.
 */
const rowsOf = (body) => body.periods;

function sum(values) {
  const scale = scaleOf(values);
  return fromUnits(values.reduce((a, v) => a + toUnits(v, scale), 0n), scale);
}

function couponSection(coupon, body, query, currency) {
  const fmtMoney = (v) => money(v, currency, LOCALE);
  const totals = {};
  for (const s of SERIES) totals[s.key] = sum(rowsOf(body).map((r) => String(r[s.key] ?? 0)));
  const users = rowsOf(body).reduce((a, r) => a + (r.redeeming_users ?? 0), 0);
  const distributed = rowsOf(body).reduce((a, r) => a + (r.codes_distributed ?? 0), 0);
  return h(
    'section',
    { class: 'panel chart', 'data-coupon': coupon.id, 'aria-labelledby': `title-${coupon.id}` },
    h('h2', { id: `title-${coupon.id}` }, coupon.name),
    h('p', { class: 'muted small' }, `${coupon.id} · ${coupon.status}`),
    h(
      'p',
      { 'data-totals': '' },
      `${totals.redemptions} redemptions`,
      // Summed per period: a user who redeemed in two periods counts in each.
      ` (${users} redeeming users, summed per ${query.granularity}), `,
      `${fmtMoney(totals.discount_given)} discount on ${fmtMoney(totals.gross_merchandise_value)} of orders, `,
      `${totals.rollbacks} rollbacks, ${distributed} codes distributed.`,
    ),
    h(
      'div',
      { class: 'charts' },
      SERIES.map((s) => {
        const points = rowsOf(body).map((r) => ({ label: r.period, value: String(r[s.key]) }));
        return h(
          'figure',
          { 'data-series': s.key },
          h('figcaption', {}, `${s.title} per ${query.granularity}`),
          barChart({ title: s.title, points, format: s.money ? fmtMoney : (v) => v, kind: s.kind }),
        );
      }),
    ),
    h(
      'details',
      {},
      h('summary', {}, 'Numbers'),
      h(
        'table',
        { class: 'numbers' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Period'), SERIES.map((s) => h('th', { scope: 'col' }, s.title)))),
        h(
          'tbody',
          {},
          rowsOf(body).map((r) =>
            h('tr', {}, h('th', { scope: 'row' }, r.period), SERIES.map((s) => h('td', {}, s.money ? fmtMoney(r[s.key]) : String(r[s.key])))),
          ),
        ),
      ),
    ),
  );
}

async function fetchStats(couponId, query) {
  const qs = new URLSearchParams(query);
  const res = await fetch(api(`/stats/${encodeURIComponent(couponId)}?${qs}`));
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`);
  return body;
}

let manifest;

async function show() {
  const query = { from: $('from').value, to: $('to').value, granularity: $('granularity').value };
  $('status').textContent = 'Loading…';
  const results = await Promise.all(
    manifest.coupons.map((c) => fetchStats(c.id, query).then((body) => ({ c, body }), (error) => ({ c, error }))),
  );
  $('coupons').replaceChildren(
    ...results.map(({ c, body, error }) =>
      error
        ? h('section', { class: 'panel', 'data-coupon': c.id }, h('h2', {}, c.name), h('p', { class: 'error' }, `No statistics: ${error.message}.`))
        : couponSection(c, body, query, manifest.currency),
    ),
  );
  const failed = results.filter((r) => r.error).length;
  $('status').textContent = `${results.length - failed} coupons from ${query.from} to ${query.to}, per ${query.granularity}` +
    (failed ? `; ${failed} could not be loaded.` : '.');
  document.body.dataset.loaded = String(Date.now());
}

async function main() {
  const today = new Date().toISOString().slice(0, 10);
  $('to').value = today;
  $('from').value = new Date(Date.now() - 29 * 86400e3).toISOString().slice(0, 10);
  // The coupon list comes from the manifest, verified by the engine like on the checkout.
  const { jws } = await loadVerifiedManifest();
  manifest = verifiedPayload(jws);
  $('range').addEventListener('submit', (e) => {
    e.preventDefault();
    show().catch(fail);
  });
  await show();
}

function fail(err) {
  $('problem').hidden = false;
  $('problem').textContent = `Statistics unavailable: ${err.message}`;
  $('status').textContent = '';
}

main().catch(fail);
