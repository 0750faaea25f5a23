// Time zones without a zone database of our own: the browser's Intl knows every IANA zone. Used to
// read the form's local times in the coupon's zone and to write the manifest's `time_zones` offset
// table (docs/manifest.md, "The offset table") for the preview, as `couponctl sign` writes it.

const fmts = new Map();
function parts(zone, ms) {
  if (!fmts.has(zone)) {
    fmts.set(zone, new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    }));
  }
  const o = {};
  for (const p of fmts.get(zone).formatToParts(new Date(ms))) o[p.type] = p.value;
  return o;
}

/** The zone's UTC offset at an instant, in minutes (Europe/Berlin in summer: 120). */
export function offsetMinutes(zone, ms) {
  if (zone === 'UTC') return 0;
  const p = parts(zone, ms);
  const local = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  return Math.round((local - Math.floor(ms / 1000) * 1000) / 60000);
}

export const isZone = (zone) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
};

const pad = (n) => String(n).padStart(2, '0');
export const offsetText = (min) => `${min < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(min) / 60))}:${pad(Math.abs(min) % 60)}`;
const isoSeconds = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * A local date-time ("2026-12-01T09:00", as <input type=datetime-local> gives it) in `zone`, as
 * RFC 3339 with that zone's offset then ("2026-12-01T09:00:00+01:00").
 */
export function zonedToRfc3339(local, zone) {
  const [d, t = '00:00'] = local.split('T');
  const [y, mo, da] = d.split('-').map(Number);
  const [hh, mm] = t.split(':').map(Number);
  const asUtc = Date.UTC(y, mo - 1, da, hh, mm);
  // The offset at the guessed instant, then once more at the corrected one (DST edges).
  let off = offsetMinutes(zone, asUtc);
  off = offsetMinutes(zone, asUtc - off * 60000);
  return `${d}T${pad(hh)}:${pad(mm)}:00${zone === 'UTC' ? 'Z' : offsetText(off)}`;
}

/** An RFC 3339 time as the local "YYYY-MM-DDTHH:MM" of `zone`, for a datetime-local input. */
export function rfc3339ToZoned(iso, zone) {
  const p = parts(zone, Date.parse(iso));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

/**
 * The offset table of `zone` from `fromIso` to `toIso`: the offset at the start, then one entry per
 * change (found by days, then to the minute by halving).
 */
export function offsetTable(zone, fromIso, toIso) {
  const from = Date.parse(fromIso);
  const to = Date.parse(toIso);
  const start = Math.floor(from / 60000) * 60000 - 86400000; // a day before: the first entry is at or before issued_at
  const table = [{ from: isoSeconds(start), offset: offsetText(offsetMinutes(zone, start)) }];
  let prev = offsetMinutes(zone, start);
  for (let t = start; t < to; t += 86400000) {
    const next = Math.min(t + 86400000, to);
    const off = offsetMinutes(zone, next);
    if (off === prev) continue;
    let lo = t;
    let hi = next; // offset(lo) = prev, offset(hi) = off
    while (hi - lo > 60000) {
      const mid = Math.floor((lo + hi) / 2 / 60000) * 60000;
      if (offsetMinutes(zone, mid) === prev) lo = mid;
      else hi = mid;
    }
    table.push({ from: isoSeconds(hi), offset: offsetText(off) });
    prev = off;
  }
  return table;
}

/** Every IANA zone the payload names (settings and schedules), without UTC. */
export function zonesOf(payload) {
  const zones = new Set();
  if (payload.settings?.time_zone) zones.add(payload.settings.time_zone);
  for (const c of payload.coupons ?? []) if (c.schedule?.time_zone) zones.add(c.schedule.time_zone);
  zones.delete('UTC');
  return [...zones];
}

/** The payload with its `time_zones` table written for the zones it names over its validity. */
export function withOffsetTables(payload) {
  const zones = zonesOf(payload);
  const out = { ...payload };
  delete out.time_zones;
  if (zones.length) out.time_zones = Object.fromEntries(zones.map((z) => [z, offsetTable(z, payload.issued_at, payload.expires_at)]));
  return out;
}

/** The browser's own zone, the default for a new coupon's times. */
export const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** Zones offered in the form (any other IANA name can be typed). */
export const COMMON_ZONES = [
  'UTC', 'Europe/London', 'Europe/Paris', 'Europe/Berlin', 'Europe/Madrid', 'Europe/Rome', 'Europe/Amsterdam', 'Europe/Stockholm',
  'Europe/Istanbul', 'Africa/Lagos', 'Africa/Johannesburg', 'Asia/Dubai', 'Asia/Kolkata', 'Asia/Singapore', 'Asia/Shanghai', 'Asia/Tokyo',
  'Asia/Seoul', 'Asia/Jakarta', 'Australia/Sydney', 'Pacific/Auckland', 'America/New_York', 'America/Chicago', 'America/Denver',
  'America/Los_Angeles', 'America/Toronto', 'America/Mexico_City', 'America/Sao_Paulo', 'America/Buenos_Aires',
];
