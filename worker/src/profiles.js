// Stored user profiles (`user:<id>` in STATE): the facts about a user that coupons are priced on,
// `properties`, `segments` and `events`, written by the shop through the admin API. The engine's
// user context is built from them and the stored assignments only; a request contributes its
// `user.id` and nothing else, so a shopper cannot claim a tier, a segment or a past order.
import { ApiError, rfc3339 } from './http.js';
import { cachedGet, remember } from './kv-cache.js';

const TTL_MS = 1000; // a change reaches other isolates within a second (plus KV propagation)
export const FIELDS = ['properties', 'segments', 'events'];
/**
 * The one rule for user ids, wherever one arrives (a body's `user.id` or `user_id`, `?user=`, a path's
 * `/users/{id}`, an NDJSON row, a shopper token's `sub`): 1 to 128 bytes of UTF-8, as in the engine
 * (MAX_USER_ID_BYTES in src/cart.rs). Bytes, not characters, bound the KV keys built from an id
 * (`usage:<coupon>:u:<id>`, ...), which KV caps at 512 bytes; and the id must be well-formed text
 * (no lone UTF-16 surrogate, which has no UTF-8 and makes a KV key KV refuses). It is checked
 * before any key is built.
 */
export const MAX_USER_ID_BYTES = 128;
const utf8 = new TextEncoder();

export const profileKey = (userId) => `user:${userId}`;

/** The stored profile's fields ({} when none is stored). */
export async function profileOf(env, userId) {
  const stored = await cachedGet(env.STATE, profileKey(userId), 'json', TTL_MS);
  return pick(stored ?? {});
}

const pick = (p) => Object.fromEntries(FIELDS.filter((f) => p[f] !== undefined).map((f) => [f, p[f]]));

/** True for well-formed text of 1 to MAX_USER_ID_BYTES bytes of UTF-8. */
export const isUserId = (id) =>
  typeof id === 'string' && id.length > 0 && id.length <= MAX_USER_ID_BYTES && id.isWellFormed()
  && utf8.encode(id).length <= MAX_USER_ID_BYTES;

export const USER_ID_RULE = `a user id is text (no lone surrogate) of 1 to ${MAX_USER_ID_BYTES} bytes of UTF-8`;

/** The id, or 400 INVALID_REQUEST at `path` (`user_id` unless `details` says otherwise). */
export function checkUserId(id, details = {}) {
  if (!isUserId(id)) throw new ApiError(400, 'INVALID_REQUEST', USER_ID_RULE, { path: 'user_id', ...details });
  return id;
}

/**
 * A request body's `user.id` (evaluate, redemptions), checked before the Worker builds any key from
 * it. A `user.id` that is not a string is left to the engine, which refuses it (no key is built from one).
 */
export function checkBodyUser(user) {
  if (user !== null && typeof user === 'object' && typeof user.id === 'string') checkUserId(user.id, { path: 'user.id' });
}

/** A `?user=` query parameter: 400 INVALID_QUERY when missing (if `required`) or not a user id. */
export function userQuery(url, { required = false } = {}) {
  const user = url.searchParams.get('user');
  if (user === null && !required) return undefined;
  if (!isUserId(user)) {
    throw new ApiError(400, 'INVALID_QUERY', `give the user: ?user=ID, where ${USER_ID_RULE}`, { parameter: 'user' });
  }
  return user;
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * A profile's shape ({ properties?, segments?, events? }, nothing else); the engine checks the
 * values themselves (times, names) when it is given the profile (see `checkWithEngine`).
 * `at` prefixes paths (an NDJSON line), `extra` names keys allowed besides (user_id).
 */
export function parseProfile(value, { at = '', extra = [], details = {} } = {}) {
  const bad = (path, message) => new ApiError(400, 'INVALID_REQUEST', message, { path: `${at}${path}`, ...details });
  if (!isObject(value)) throw bad('', 'a profile is a JSON object: { properties?, segments?, events? }');
  for (const key of Object.keys(value)) {
    if (!FIELDS.includes(key) && !extra.includes(key)) throw bad(key, `unknown field ${key}: a profile has ${FIELDS.join(', ')}`);
  }
  if (value.properties !== undefined && !isObject(value.properties)) throw bad('properties', 'properties is a JSON object');
  if (value.segments !== undefined
    && !(Array.isArray(value.segments) && value.segments.every((s) => typeof s === 'string' && s.length > 0))) {
    throw bad('segments', 'segments is an array of non-empty strings');
  }
  if (value.events !== undefined && !(Array.isArray(value.events) && value.events.every(isObject))) {
    throw bad('events', 'events is an array of { name, at, ... } objects');
  }
  return pick(value);
}

/**
 * Lets the engine read the profile as a user context (the tray is the cheapest call that does), so
 * a value it would refuse (an event time that is not RFC 3339, ...) is refused here, once, with
 * its error code and path, and never makes that user's every request fail later. Skipped while no
 * manifest is published; the engine checks again when it prices.
 */
export function checkWithEngine(loaded, userId, profile, details = {}) {
  if (!loaded) return;
  try {
    loaded.engine.tray({ id: userId, ...profile, now: rfc3339(Date.now()) });
  } catch (err) {
    if (typeof err?.code !== 'string') throw err;
    throw new ApiError(400, err.code, `the profile is not a valid user context: ${err.message}`, { ...(err.path ? { path: err.path } : {}), ...details });
  }
}

/** Replaces the stored profile of each user (a profile is written whole, never merged). */
export async function storeProfiles(env, entries) {
  const updatedAt = rfc3339(Date.now());
  await Promise.all(entries.map(async ([userId, profile]) => {
    const stored = { ...profile, updated_at: updatedAt };
    await env.STATE.put(profileKey(userId), JSON.stringify(stored));
    remember(profileKey(userId), stored, TTL_MS);
  }));
  return updatedAt;
}

export async function storedProfile(env, userId) {
  return env.STATE.get(profileKey(userId), 'json');
}

export async function deleteProfile(env, userId) {
  await env.STATE.delete(profileKey(userId));
  remember(profileKey(userId), null, TTL_MS);
}
