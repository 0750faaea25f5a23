// The events a user sent (POST /events) and the assignments they made, as the user context sees
// them. The user's UserLog Durable Object owns them and writes this KV copy (`events:<user>`,
// `{ events, assignments }`) after each event; pricing.js merges it with the stored profile and the
// admin assignments, so every route prices with the events too.
import { cachedGet, forget, remember } from './kv-cache.js';

const TTL_MS = 1000; // like profiles and assignments: other isolates within a second
// The log a user context carries: the newest MAX_EVENTS events, within MAX_LOG_BYTES (it is read on
// every priced request of the user). Events that activation depends on are kept first (see trim).
export const MAX_EVENTS = 200;
export const MAX_LOG_BYTES = 256 * 1024;

export const eventsKey = (userId) => `events:${userId}`;
// An event id is recognised (its first answer replayed) this long after it was first sent, by the
// UserLog Durable Object and in COUNTER_MODE=kv alike.
export const REPLAY_DAYS = 30;

const EMPTY = { events: [], assignments: [] };

export async function loggedOf(env, userId) {
  return (await cachedGet(env.STATE, eventsKey(userId), 'json', TTL_MS)) ?? EMPTY;
}

/** What the context sees of the log (the KV copy): the events and the assignments events made. */
export const copyOf = (state) => ({ events: state.events, assignments: state.assignments });

export async function writeCopy(env, userId, copy) {
  await env.STATE.put(eventsKey(userId), JSON.stringify(copy));
  remember(eventsKey(userId), copy, TTL_MS);
}

/** Another isolate wrote the copy: the next read of this isolate goes to KV. */
export const forgetCopy = (userId) => forget(eventsKey(userId));

/**
 * The context fields from the stored profile, the admin assignments and the logged events: the
 * profile's events then the logged ones; one assignment per coupon, the newest `assigned_at`
 * winning (an event's on a tie: it carries the code it gave).
 */
export function mergeContext(profile, adminAssignments, logged = EMPTY) {
  const events = [...(profile.events ?? []), ...logged.events];
  const byCoupon = new Map();
  for (const a of [...adminAssignments, ...logged.assignments]) {
    const held = byCoupon.get(a.coupon_id);
    if (!held || Date.parse(a.assigned_at) >= Date.parse(held.assigned_at)) byCoupon.set(a.coupon_id, a);
  }
  return {
    ...profile,
    ...(events.length ? { events } : {}),
    ...(byCoupon.size ? { assignments: [...byCoupon.values()] } : {}),
  };
}

const atOf = (e) => Date.parse(e.at);

/**
 * The log within its caps. Activation counts from a user's FIRST event of a name (whose `where`
 * holds), so the first event of every name and the events that activated a coupon (`pinned`) are
 * kept before any other, oldest first; the rest of the room goes to the newest events. Returns the
 * kept events (oldest first) and the ids of those dropped.
 */
export function trim(events, pinned) {
  const first = new Map();
  for (const e of events) if (!first.has(e.name) || atOf(e) < atOf(first.get(e.name))) first.set(e.name, e);
  const keep = (e) => pinned.has(e.id) || first.get(e.name) === e;
  const ranked = [
    ...events.filter(keep).sort((a, b) => atOf(a) - atOf(b)),
    ...events.filter((e) => !keep(e)).sort((a, b) => atOf(b) - atOf(a)),
  ];
  const kept = [];
  let bytes = 0;
  for (const e of ranked) {
    const size = JSON.stringify(e).length;
    if (kept.length >= MAX_EVENTS || bytes + size > MAX_LOG_BYTES) continue;
    kept.push(e);
    bytes += size;
  }
  const ids = new Set(kept.map((e) => e.id));
  return { events: kept.sort((a, b) => atOf(a) - atOf(b)), dropped: events.filter((e) => !ids.has(e.id)).map((e) => e.id) };
}
