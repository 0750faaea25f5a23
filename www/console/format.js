// Money, numbers and dates for the console, in the browser's language. Money stays a decimal string:
// Intl.NumberFormat formats a string operand exactly, so no amount becomes a float to be shown.
export { h, isolate } from '../format.js';

/** Element.append without the nulls (append would write "null"): for children chosen by conditions. */
export const put = (root, ...children) => root.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));

export const LOCALE = globalThis.navigator?.language ?? 'en-US';

const cache = new Map();
const once = (key, make) => (cache.has(key) ? cache.get(key) : cache.set(key, make()).get(key));

export const money = (amount, currency) =>
  amount === null || amount === undefined ? '' : once(`m|${currency}`, () => new Intl.NumberFormat(LOCALE, { style: 'currency', currency })).format(String(amount));
export const count = (n) => once('n', () => new Intl.NumberFormat(LOCALE)).format(n ?? 0);
export const date = (iso) => (iso ? once('d', () => new Intl.DateTimeFormat(LOCALE, { dateStyle: 'medium' })).format(new Date(iso)) : '');
export const dateTime = (iso, timeZone) =>
  iso ? once(`dt|${timeZone}`, () => new Intl.DateTimeFormat(LOCALE, { dateStyle: 'medium', timeStyle: 'short', timeZone })).format(new Date(iso)) : '';
/** A calendar day (YYYY-MM-DD, no time zone) in words. */
export const day = (ymd) => once('day', () => new Intl.DateTimeFormat(LOCALE, { dateStyle: 'medium', timeZone: 'UTC' })).format(new Date(`${ymd}T00:00:00Z`));
export const monthName = (ym) => once('mo', () => new Intl.DateTimeFormat(LOCALE, { month: 'short', year: 'numeric', timeZone: 'UTC' })).format(new Date(`${ym}-01T00:00:00Z`));

/** A stats period label (2026-11-24, 2026-W48, 2026-11) in words. */
export function period(label) {
  if (/^\d{4}-\d{2}-\d{2}$/.test(label)) return day(label);
  if (/^\d{4}-W\d{2}$/.test(label)) return `Week ${Number(label.slice(6))}, ${label.slice(0, 4)}`;
  if (/^\d{4}-\d{2}$/.test(label)) return monthName(label);
  return label;
}

/** Relative wording for recent times ("3 minutes ago"), else the date. */
export function ago(iso) {
  if (!iso) return '';
  const s = (Date.now() - Date.parse(iso)) / 1000;
  const rtf = once('rtf', () => new Intl.RelativeTimeFormat(LOCALE, { numeric: 'auto' }));
  if (s >= 0 && s < 60) return rtf.format(-Math.round(s), 'second');
  if (s >= 0 && s < 3600) return rtf.format(-Math.round(s / 60), 'minute');
  if (s >= 0 && s < 86400) return rtf.format(-Math.round(s / 3600), 'hour');
  return date(iso);
}

export const STATUS_LABEL = { draft: 'Draft', scheduled: 'Scheduled', active: 'Active', paused: 'Paused', ended: 'Ended', archived: 'Archived' };
export const TYPE_LABEL = { static: 'Single code', bulk: 'Unique codes', multi: 'Several code sources', automatic: 'Automatic', event: 'Event-given' };
export const REWARD_LABEL = {
  percentage: 'Percentage off',
  fixed_amount: 'Amount off',
  cashback: 'Cashback points',
  buy_x_get_y: 'Buy X get Y',
  tiered: 'Spend tiers',
  fixed_price: 'Fixed price',
};

/** A status as a badge (colour and text: never colour alone). */
export const statusBadge = (h, status) => h('span', { class: `badge status-${status}`, 'data-status': status }, STATUS_LABEL[status] ?? status);

/** A file download of text made in the page (CSV exports, generated codes, payloads to sign). */
export function download(name, text, type = 'text/csv') {
  const url = URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` }));
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * One CSV field, quoted when it must be (RFC 4180). Text a spreadsheet would run as a formula
 * (a coupon named `=HYPERLINK(...)`: a leading =, +, -, @, tab or carriage return) gets a leading
 * apostrophe, as OWASP advises; a number, negative ones included, stays a number.
 */
export const csvField = (v) => {
  let s = String(v ?? '');
  if (/^[=+\-@\t\r]/.test(s) && !/^[+-]?\d+(\.\d+)?$/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
export const csvRows = (rows) => `${rows.map((r) => r.map(csvField).join(',')).join('\r\n')}\r\n`;
