// The events a user sent (POST /events), the assignments they made and the activations they
// reported, as the user context sees them. The user's UserLog Durable Object owns them and writes
// this KV copy (`events:<user>`, `{ events, assignments, activations }`) after each event;
// pricing.js merges it with the stored profile and the admin assignments, so every route prices
// with the events too.
import { cachedGet, forget, remember } from './kv-cache.js';

const TTL_MS = 1000; // like profiles and assignments: other isolates within a second
// The log a user context carries: the newest MAX_EVENTS events, within MAX_LOG_BYTES (it is read on
// every priced request of the user). Events that activation depends on are kept first (see trim).
export const MAX_EVENTS = 200;
export const MAX_LOG_BYTES = 256 * 1024;

// An event id is recognised (its first answer replayed) this long after it was first sent, by the
// UserLog Durable Object and in COUNTER_MODE=kv alike.
export const REPLAY_DAYS = 30;

export const eventsKey = (userId) => `events:${userId}`;
const EMPTY = { events: [], assignments: [], activations: [] };

export async function loggedOf(env, userId) {
  return (await cachedGet(env.STATE, eventsKey(userId), 'json', TTL_MS)) ?? EMPTY;
}

/**
 * What the context sees of the log (the KV copy): the events, the assignments events made and the
 * activations the engine reported (one per coupon, the earliest).
 */
export const copyOf = (state) => ({ events: state.events, assignments: state.assignments, activations: state.activations ?? [] });

/**
 * `held` (activations `{ coupon_id, at }`, one per coupon) with `reported` added: per coupon the
 * earliest `at` wins, so an activation once made is never moved later. Returns all of them and
 * those that changed (to store).
 */
export function mergeActivations(held, reported) {
  const byCoupon = new Map(held.map((a) => [a.coupon_id, a]));
  const changed = [];
  for (const a of reported) {
    const was = byCoupon.get(a.coupon_id);
    if (was && Date.parse(was.at) <= Date.parse(a.at)) continue;
    const kept = { coupon_id: a.coupon_id, at: a.at };
    byCoupon.set(a.coupon_id, kept);
    changed.push(kept);
  }
  return { activations: [...byCoupon.values()], changed };
}

export async function writeCopy(env, userId, copy) {
  await env.STATE.put(eventsKey(userId), JSON.stringify(copy));
  remember(eventsKey(userId), copy, TTL_MS);
}

/** Another isolate wrote the copy: the next read of this isolate goes to KV. */
export const forgetCopy = (userId) => forget(eventsKey(userId));

/**
 * The context fields from the stored profile, the admin assignments and the logged events: the
 * profile's events then the logged ones; one assignment per coupon, the newest `assigned_at`
 * winning (an event's on a tie: it carries the code it gave); the stored activations (the engine
 * prefers them to working activation out from the events again).
 */
export function mergeContext(profile, adminAssignments, logged = EMPTY) {
  const events = [...(profile.events ?? []), ...logged.events];
  const activations = logged.activations ?? []; // a copy written before activations were stored has none
  const byCoupon = new Map();
  for (const a of [...adminAssignments, ...logged.assignments]) {
    const held = byCoupon.get(a.coupon_id);
    if (!held || Date.parse(a.assigned_at) >= Date.parse(held.assigned_at)) byCoupon.set(a.coupon_id, a);
  }
  return {
    ...profile,
    ...(events.length ? { events } : {}),
    ...(byCoupon.size ? { assignments: [...byCoupon.values()] } : {}),
    ...(activations.length ? { activations } : {}),
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
