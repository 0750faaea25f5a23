// GET /stats/{coupon_id}: the coupon's Durable Object keeps one row per day (the evaluation's day
// label, in the manifest's time zone when the engine gives one, else UTC); this groups them.
import { ApiError } from './http.js';
import { addMoney } from './money.js';

const DATE = /^(?!0000)\d{4}-\d{2}-\d{2}$/; // from 0001-01-01, a Monday: every week's Thursday has a year
const FIRST_DAY = Date.parse('0001-01-01T00:00:00Z');
const GRANULARITIES = new Set(['day', 'week', 'month']);
const MAX_DAYS = 366 * 2;

/** ISO 8601 week label (2026-W48) of a calendar date label. */
function isoWeek(day) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7) + 3); // this week's Thursday decides the year
  const year = String(d.getUTCFullYear()).padStart(4, '0');
  // Parsed, not Date.UTC: Date.UTC reads the years 0 to 99 as 1900 to 1999.
  const jan4 = new Date(`${year}-01-04T00:00:00Z`);
  const week1Thursday = jan4.getTime() + (3 - ((jan4.getUTCDay() + 6) % 7)) * 86400e3;
  return `${year}-W${String(1 + Math.round((d - week1Thursday) / (7 * 86400e3))).padStart(2, '0')}`;
}

const labelOf = (day, granularity) => (granularity === 'day' ? day : granularity === 'month' ? day.slice(0, 7) : isoWeek(day));

/** Every period label from `from` to `to` (inclusive dates), oldest first. */
function periodLabels(from, to, granularity) {
  const labels = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86400e3) {
    const label = labelOf(new Date(t).toISOString().slice(0, 10), granularity);
    if (labels[labels.length - 1] !== label) labels.push(label);
  }
  return labels;
}

/**
 * Rows per day (and redeeming users per day) grouped into the query's periods, oldest first, with
 * a zero row for every period without activity, so a chart draws what it gets.
 */
export function aggregate(days, users, { from, to, granularity }) {
  const out = new Map();
  const row = (label) => {
    if (!out.has(label)) {
      out.set(label, { period: label, redemptions: 0, redeeming_users: new Set(), rollbacks: 0, discount_given: '0', gross_merchandise_value: '0', codes_distributed: 0, cashback_points: 0 });
    }
    return out.get(label);
  };
  for (const label of periodLabels(from, to, granularity)) row(label);
  for (const d of days) {
    const r = row(labelOf(d.day, granularity));
    r.redemptions += d.redemptions;
    r.rollbacks += d.rollbacks;
    r.discount_given = addMoney(r.discount_given, d.discount);
    r.gross_merchandise_value = addMoney(r.gross_merchandise_value, d.gmv);
    r.codes_distributed += d.distributed;
    r.cashback_points += d.cashback ?? 0;
  }
  for (const u of users) row(labelOf(u.day, granularity)).redeeming_users.add(u.user_id);
  return [...out.values()]
    .sort((a, b) => (a.period < b.period ? -1 : 1))
    .map((r) => ({ ...r, redeeming_users: r.redeeming_users.size }));
}

/** from / to (inclusive dates) and granularity from the query string, with defaults and bounds. */
export function statsQuery(url) {
  const q = url.searchParams;
  const date = (name, v) => {
    if (!DATE.test(v)) throw new ApiError(400, 'INVALID_QUERY', `${name} must be a date YYYY-MM-DD, from 0001-01-01`, { parameter: name });
    // Date.parse rolls 2026-02-30 over to March 2: a date exists when it reads back the same.
    const t = Date.parse(`${v}T00:00:00Z`);
    if (Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== v) {
      throw new ApiError(400, 'INVALID_QUERY', `${name} is ${v}, a date that does not exist`, { parameter: name });
    }
    return v;
  };
  // `to` is checked before the default `from` is counted back from it.
  const to = date('to', q.get('to') ?? new Date().toISOString().slice(0, 10));
  const from = date('from', q.get('from')
    ?? new Date(Math.max(Date.parse(`${to}T00:00:00Z`) - 29 * 86400e3, FIRST_DAY)).toISOString().slice(0, 10));
  const granularity = q.get('granularity') ?? 'day';
  if (!GRANULARITIES.has(granularity)) {
    throw new ApiError(400, 'INVALID_QUERY', 'granularity must be day, week or month', { parameter: 'granularity' });
  }
  const span = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86400e3;
  if (span < 0 || span > MAX_DAYS) {
    throw new ApiError(400, 'INVALID_QUERY', `from must be on or before to, at most ${MAX_DAYS} days apart`, { parameter: 'from' });
  }
  return { from, to, granularity };
}
