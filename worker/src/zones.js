// The offset table of a manifest (`time_zones`, docs/manifest.md, "The offset table"), as
// `couponctl sign` writes it (src/bin/couponctl/zones.rs), but from the runtime's own Intl data
// instead of a zone database file: for every zone the payload names (`settings.time_zone`, a
// coupon's `schedule.time_zone`) without a table, the offset in force at `issued_at` (from the
// change that set it) and every change up to `expires_at`. The engine carries no zone data.
import { ApiError } from './http.js';

const HOUR = 3600e3;
const STEP_MS = 6 * HOUR; // no zone changes its offset twice within 6 hours
const BACK_STEP_MS = 7 * 24 * HOUR; // nor twice within a week
const OLDEST_MS = Date.UTC(1850, 0, 1);
const formats = new Map();

/** A zone's offset (seconds east of UTC) at `ms`, from Intl's local date and time. */
function offsetAt(zone, ms) {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', era: 'short',
    });
    formats.set(zone, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const year = p.era === 'BC' || p.era === 'B' ? 1 - Number(p.year) : Number(p.year);
  const local = Date.UTC(year, Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
  return Math.round((local - Math.floor(ms / 1000) * 1000) / 1000);
}

/** The first whole second in (lo, hi] whose offset is that of `hi` (lo's differs). */
function change(zone, lo, hi) {
  let a = Math.floor(lo / 1000);
  let b = Math.floor(hi / 1000);
  const want = offsetAt(zone, b * 1000);
  while (b - a > 1) {
    const mid = Math.floor((a + b) / 2);
    if (offsetAt(zone, mid * 1000) === want) b = mid;
    else a = mid;
  }
  return b * 1000;
}

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function entry(zone, ms, offset) {
  if (offset % 60 !== 0 || Math.abs(offset) > 18 * 3600) {
    throw new ApiError(422, 'MANIFEST_INVALID', `${zone}: an offset of ${offset} seconds cannot be written as +HH:MM`, { path: 'time_zones' });
  }
  const m = Math.abs(offset) / 60;
  const hhmm = `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  return { from: iso(ms), offset: `${offset < 0 ? '-' : '+'}${hhmm}` };
}

/** `[{ from, offset }]` for `zone` from the change in force at `from` through `until` (ms). */
export function table(zone, from, until) {
  const first = offsetAt(zone, from);
  // Back to the change that set the offset in force at `from`.
  let firstAt = from;
  for (let t = from - BACK_STEP_MS; t >= OLDEST_MS; t -= BACK_STEP_MS) {
    if (offsetAt(zone, t) !== first) {
      firstAt = change(zone, t, t + BACK_STEP_MS);
      break;
    }
  }
  const out = [entry(zone, firstAt, first)];
  let prev = first;
  for (let t = from; t < until;) {
    const next = Math.min(t + STEP_MS, until);
    const off = offsetAt(zone, next);
    if (off !== prev) {
      const at = change(zone, t, next);
      if (at > until) break;
      out.push(entry(zone, at, off));
      prev = off;
    }
    t = next;
  }
  return out;
}

/** A zone name Intl knows, or 422 MANIFEST_INVALID at `path`. */
function known(zone, path) {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    throw new ApiError(422, 'MANIFEST_INVALID', `manifest ${path}: \`${zone}\` is not an IANA time zone this Worker knows`, { path });
  }
}

/**
 * Adds a table to `payload.time_zones` for every zone named that has none (UTC needs none).
 * Returns the names added; the payload is changed in place.
 */
export function fillTimeZones(payload) {
  const named = new Map(); // zone -> the path naming it first
  const name = (z, path) => {
    if (typeof z === 'string' && z !== 'UTC' && !named.has(z)) named.set(z, path);
  };
  if (payload?.settings && typeof payload.settings === 'object') name(payload.settings.time_zone, 'settings.time_zone');
  if (Array.isArray(payload?.coupons)) {
    payload.coupons.forEach((c, i) => name(c?.schedule?.time_zone, `coupons[${i}].schedule.time_zone`));
  }
  const tables = payload?.time_zones && typeof payload.time_zones === 'object' && !Array.isArray(payload.time_zones) ? payload.time_zones : {};
  const missing = [...named].filter(([z]) => !(z in tables));
  if (!missing.length) return [];
  const from = Date.parse(payload.issued_at);
  const until = Date.parse(payload.expires_at);
  if (Number.isNaN(from) || Number.isNaN(until)) {
    // The engine says exactly what is wrong with them; without both there is no validity to cover.
    return [];
  }
  for (const [z, path] of missing) {
    known(z, path);
    tables[z] = table(z, from, until);
  }
  payload.time_zones = tables;
  return missing.map(([z]) => z);
}
