// Stored user profiles (`user:<id>` in STATE): the facts about a user that coupons are priced on,
// `properties`, `segments` and `events`, written by the shop through the admin API. The engine's
// user context is built from them and the stored assignments only; a request contributes its
// `user.id` and nothing else, so a shopper cannot claim a tier, a segment or a past order.
import { ApiError, rfc3339 } from './http.js';
import { cachedGet, remember } from './kv-cache.js';

const TTL_MS = 1000; // a change reaches other isolates within a second (plus KV propagation)
export const FIELDS = ['properties', 'segments', 'events'];
const MAX_ID_CHARS = 128;

export const profileKey = (userId) => `user:${userId}`;

/** The stored profile's fields ({} when none is stored). */
export async function profileOf(env, userId) {
  const stored = await cachedGet(env.STATE, profileKey(userId), 'json', TTL_MS);
  return pick(stored ?? {});
}

const pick = (p) => Object.fromEntries(FIELDS.filter((f) => p[f] !== undefined).map((f) => [f, p[f]]));

/** What is wrong with a user id, or null when it is one. */
export function userIdProblem(id) {
  return typeof id !== 'string' || !id || id.length > MAX_ID_CHARS ? `a user id is a string of 1-${MAX_ID_CHARS} characters` : null;
}

export function checkUserId(id, details = {}) {
  const problem = userIdProblem(id);
  if (problem) throw new ApiError(400, 'INVALID_REQUEST', problem, { path: 'user_id', ...details });
  return id;
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
