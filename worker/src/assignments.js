// Campaign assignments (`couponctl assign` NDJSON) stored per user in KV (`assign:<user>`), and fed
// to the engine as `user.assignments`: a client never supplies its own assignments.
import { ApiError, rfc3339 } from './http.js';
import { cachedGet, remember } from './kv-cache.js';
import { isUserId, USER_ID_RULE } from './profiles.js';

const TTL_MS = 1000; // an upload reaches other isolates within a second (plus KV propagation)

export const assignKey = (userId) => `assign:${userId}`;

export async function assignmentsOf(env, userId) {
  return (await cachedGet(env.STATE, assignKey(userId), 'json', TTL_MS)) ?? [];
}

/**
 * Parses NDJSON rows `{coupon_id, user_id, assigned_at, code?}`; a bad line is refused by number.
 * Returns the rows and, for each, its line number.
 */
export function parseAssignments(text, maxRows) {
  const rows = [];
  const lines = []; // each row's line number
  const texts = text.split(/\r?\n/);
  for (let i = 0; i < texts.length; i++) {
    if (!texts[i].trim()) continue;
    let row;
    try {
      row = JSON.parse(texts[i]);
    } catch {
      throw new ApiError(400, 'INVALID_JSON', `line ${i + 1} is not JSON`, { line: i + 1 });
    }
    const ok = row && typeof row === 'object' && typeof row.coupon_id === 'string' && isUserId(row.user_id) && typeof row.assigned_at === 'string'
      && (row.code === undefined || typeof row.code === 'string');
    if (!ok) throw new ApiError(400, 'INVALID_REQUEST', `line ${i + 1} is not {coupon_id, user_id, assigned_at, code?} (${USER_ID_RULE})`, { line: i + 1 });
    rows.push(row);
    lines.push(i + 1);
    if (rows.length > maxRows) throw new ApiError(413, 'TOO_MANY_ROWS', `at most ${maxRows} rows per upload`, { limit: maxRows });
  }
  return { rows, lines };
}

/**
 * The engine reads the rows as a user's `assignments` before any is stored, as it will when it
 * prices for that user: a time that is not RFC 3339 or a code it would refuse is a 400 naming the
 * line, not a stored row that makes every later call for the user fail. (Which user does not
 * matter to that reading: one call reads them all.)
 */
export function checkAssignments(loaded, rows, lines) {
  if (!rows.length) return;
  const assignments = rows.map(({ coupon_id, assigned_at, code }) => ({ coupon_id, assigned_at, ...(code === undefined ? {} : { code }) }));
  try {
    loaded.engine.tray({ id: rows[0].user_id, assignments, now: rfc3339(Date.now()) });
  } catch (err) {
    if (typeof err?.code !== 'string') throw err;
    const row = /^assignments\[(\d+)\]\.(.+)$/.exec(err.path ?? '');
    if (!row) return; // not about the rows (an expired manifest, say): pricing will say so
    const line = lines[Number(row[1])];
    const message = String(err.message).replace(/^assignments\[\d+\]\./, '');
    throw new ApiError(400, err.code, `line ${line} is not a valid assignment: ${message}`, { line, path: row[2] });
  }
}

/** Merges rows into each user's list (one assignment per coupon: a newer row replaces it). */
export async function storeAssignments(env, rows) {
  const byUser = new Map();
  for (const r of rows) {
    const list = byUser.get(r.user_id) ?? [];
    list.push({ coupon_id: r.coupon_id, assigned_at: r.assigned_at, ...(r.code ? { code: r.code } : {}) });
    byUser.set(r.user_id, list);
  }
  for (const [user, added] of byUser) {
    const merged = new Map((await assignmentsOf(env, user)).map((a) => [a.coupon_id, a]));
    for (const a of added) merged.set(a.coupon_id, a);
    await env.STATE.put(assignKey(user), JSON.stringify([...merged.values()]));
    remember(assignKey(user), [...merged.values()], TTL_MS);
  }
  return byUser.size;
}
