// Admin routes (Authorization: Bearer <ADMIN_TOKEN>): publish a manifest, pause / resume / end a
// coupon, upload bulk codes (and fill a coupon's code pool), assign coupons to users, store user
// profiles, read a coupon's counters.
import { ApiError, json, readText, parseJson, rfc3339 } from './http.js';
import { current, publish } from './manifest-store.js';
import { call } from './engine.js';
import { bulkKey, bulkSourceOf, bulkSources, codeHash } from './codes.js';
import { codesFromCsv } from './csv.js';
import { setOverride } from './overrides.js';
import { checkAssignments, parseAssignments, storeAssignments } from './assignments.js';
import { counterOf, kvMode } from './counters.js';
import { GROUP } from './usage.js';
import { checkUserId, checkWithEngine, deleteProfile, parseProfile, storedProfile, storeProfiles, userQuery } from './profiles.js';

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024; // the engine's default max_manifest_bytes
const MAX_UPLOAD_BYTES = 1024 * 1024;
// A Worker invocation may make 1,000 KV operations; bigger sets go through `wrangler kv bulk put`.
const MAX_ROWS = 500;

// 401 without a valid token or console session; 503 when the Worker has no token (fail closed).
export { requireAdmin } from './session.js';

export async function putManifest(request, env) {
  const jws = (await readText(request, { limit: MAX_MANIFEST_BYTES, types: ['application/jose', 'text/plain'] })).trim();
  const loaded = await publish(env, jws);
  return json({ manifest_id: loaded.engine.manifestId, version: loaded.version, etag: loaded.etag }, 201);
}

export async function putStatus(request, env, { coupon_id }) {
  const text = await readText(request, { limit: 1024, types: ['application/json'] });
  const { status } = parseJson(text) ?? {};
  if (!['paused', 'ended', 'archived', 'active'].includes(status)) {
    throw new ApiError(400, 'INVALID_REQUEST', 'status must be "paused", "ended", "archived" or "active" (resume)', { path: 'status' });
  }
  const override = await setOverride(env, await current(env), coupon_id, status);
  return json({ coupon_id, ...override });
}

/** Bulk codes as CSV (normalised and checked against the coupon's format) or couponctl's JSON. */
export async function postCodes(request, env, { coupon_id }) {
  const loaded = await current(env);
  const coupon = couponIn(loaded, coupon_id);
  if (!bulkSources(coupon).length) throw new ApiError(422, 'NOT_BULK_COUPON', `coupon ${coupon_id} does not take bulk codes`);
  const url = new URL(request.url);
  const pool = poolFlag(url);
  const batch = batchOf(url.searchParams.get('batch'));
  if (pool && kvMode(env)) throw new ApiError(400, 'POOL_UNSUPPORTED', 'code pools need Durable Objects; this Worker runs with COUNTER_MODE=kv');
  const text = await readText(request, { limit: MAX_UPLOAD_BYTES, types: ['text/csv', 'application/json'] });
  const type = request.headers.get('content-type').split(';')[0].trim().toLowerCase();
  if (pool && type !== 'text/csv') {
    throw new ApiError(400, 'INVALID_REQUEST', 'a pool takes the codes themselves (CSV), not the hashes couponctl writes', { path: '' });
  }
  const hashes = new Set();
  const codes = []; // normalised, for the pool
  const refused = [];
  if (type === 'application/json') {
    const rows = parseJson(text);
    if (!Array.isArray(rows)) throw new ApiError(400, 'INVALID_REQUEST', 'expected the JSON array `couponctl codes import` writes', { path: '' });
    const pattern = new RegExp(`^bulkcode:${coupon_id.replace(/[-]/g, '\\-')}:[A-Za-z0-9_-]{43}$`);
    rows.forEach((r, i) => {
      if (r && pattern.test(r.key) && r.value === coupon_id) hashes.add(r.key.split(':')[2]);
      else refused.push({ row: i, message: `not {"key": "bulkcode:${coupon_id}:<hash>", "value": "${coupon_id}"}` });
    });
  } else {
    const now = rfc3339(Date.now());
    const formats = bulkSources(coupon).map((s) => `prefix ${s.prefix}, ${s.length} characters`).join('; or ');
    for (const { line, code } of codesFromCsv(text)) {
      let normalized;
      try {
        normalized = call(() => loaded.engine.checkCode(code, { now })).code;
      } catch (err) {
        refused.push({ line, message: err.message });
        continue;
      }
      if (!bulkSourceOf(coupon, normalized)) {
        refused.push({ line, message: `not a code of ${coupon_id} (${formats})` });
      } else if (!hashes.has(codeHash(coupon_id, normalized))) {
        hashes.add(codeHash(coupon_id, normalized));
        codes.push(normalized);
      }
    }
  }
  if (hashes.size > MAX_ROWS) {
    throw new ApiError(413, 'TOO_MANY_ROWS', `at most ${MAX_ROWS} codes per upload; use wrangler kv bulk put for more`, { limit: MAX_ROWS });
  }
  const record = (counts) => counterOf(env, coupon_id).recordUpload({ batch, kind: 'upload', at: rfc3339(Date.now()), imported: 0, refused: 0, pooled: 0, ...counts });
  if (refused.length) await record({ refused: refused.length });
  if (refused.length) throw new ApiError(422, 'INVALID_CODES', `${refused.length} rows are not codes of ${coupon_id}; nothing was stored`, {
      refused: refused.slice(0, MAX_ROWS), ...(refused.length > MAX_ROWS ? { refused_total: refused.length } : {}),
    });
  await Promise.all([...hashes].map((h) => env.CODES.put(bulkKey(coupon_id, h), coupon_id)));
  // Registered first: a pooled code handed out works at once.
  if (!pool) {
    await record({ imported: hashes.size });
    return json({ coupon_id, imported: hashes.size }, 201);
  }
  const { added, available } = await counterOf(env, coupon_id).addToPool({ codes });
  await record({ imported: hashes.size, pooled: added });
  return json({ coupon_id, imported: hashes.size, pooled: added, available }, 201);
}

/**
 * The upload a request belongs to (`batch`: the chunks of one file share it, so the console lists
 * the file once); a request without one is an upload of its own.
 */
export function batchOf(value) {
  if (value === null || value === undefined) return crypto.randomUUID();
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(value)) {
    throw new ApiError(400, 'INVALID_QUERY', 'batch must be 1-64 letters, digits, - or _ (the same for every chunk of one upload)', { parameter: 'batch' });
  }
  return value;
}

/** GET /admin/coupons/{id}/uploads: the coupon's newest code uploads and generations (20). */
export async function getUploads(request, env, { coupon_id }) {
  couponIn(await current(env), coupon_id);
  return json({ coupon_id, uploads: await counterOf(env, coupon_id).uploads({ limit: 20 }) });
}

/** `?pool=true` (or absent / false); anything else is refused rather than guessed. */
function poolFlag(url) {
  const v = url.searchParams.get('pool');
  if (v === null || v === 'false') return false;
  if (v === 'true') return true;
  throw new ApiError(400, 'INVALID_QUERY', 'pool must be true or false', { parameter: 'pool' });
}

/** GET /admin/coupons/{id}/pool: codes waiting in the coupon's pool, and codes given by events. */
export async function getPool(request, env, { coupon_id }) {
  couponIn(await current(env), coupon_id);
  return json({ coupon_id, ...(await counterOf(env, coupon_id).pool()) });
}

export async function postAssignments(request, env) {
  const text = await readText(request, { limit: MAX_UPLOAD_BYTES, types: ['application/x-ndjson', 'application/jsonl', 'text/plain'] });
  const { rows, lines } = parseAssignments(text, MAX_ROWS);
  const loaded = await current(env);
  const unknown = rows.find((r) => !loaded.coupons.has(r.coupon_id));
  if (unknown) throw new ApiError(404, 'COUPON_NOT_FOUND', `no coupon ${unknown.coupon_id} in the current manifest`);
  checkAssignments(loaded, rows, lines);
  const users = await storeAssignments(env, rows);
  // Codes distributed, for the stats: one per assignment, on the day it was made (UTC; the time
  // may carry another offset).
  const perCoupon = new Map();
  for (const r of rows) {
    const t = Date.parse(r.assigned_at); // the engine read it; JS reads nearly every RFC 3339 time
    const k = `${r.coupon_id}\n${Number.isNaN(t) ? r.assigned_at.slice(0, 10) : new Date(t).toISOString().slice(0, 10)}`;
    perCoupon.set(k, (perCoupon.get(k) ?? 0) + 1);
  }
  await Promise.all([...perCoupon].map(([k, count]) => {
    const [couponId, day] = k.split('\n');
    return counterOf(env, couponId).distributed({ day, count });
  }));
  return json({ assigned: rows.length, users }, 201);
}

const MAX_PROFILE_BYTES = 64 * 1024;

/** The current manifest for checking profiles with the engine, or null while none is served. */
async function currentOrNull(env) {
  try {
    return await current(env);
  } catch (err) {
    if (err instanceof ApiError && (err.code === 'NO_MANIFEST' || err.code === 'MANIFEST_EXPIRED')) return null;
    throw err;
  }
}

/** PUT /admin/users/{id}: replaces the user's stored profile { properties?, segments?, events? }. */
export async function putUser(request, env, { user_id }) {
  checkUserId(user_id);
  const text = await readText(request, { limit: MAX_PROFILE_BYTES, types: ['application/json'] });
  const profile = parseProfile(parseJson(text));
  checkWithEngine(await currentOrNull(env), user_id, profile);
  const updatedAt = await storeProfiles(env, [[user_id, profile]]);
  return json({ user_id, ...profile, updated_at: updatedAt });
}

/** POST /admin/users: NDJSON, one { user_id, properties?, segments?, events? } per line; all or nothing. */
export async function postUsers(request, env) {
  const text = await readText(request, { limit: MAX_UPLOAD_BYTES, types: ['application/x-ndjson', 'application/jsonl', 'text/plain'] });
  const byUser = new Map();
  const lines = text.split(/\r?\n/);
  const loaded = await currentOrNull(env);
  let rows = 0;
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].trim()) continue;
    if (++rows > MAX_ROWS) throw new ApiError(413, 'TOO_MANY_ROWS', `at most ${MAX_ROWS} rows per upload`, { limit: MAX_ROWS });
    const line = i + 1;
    let row;
    try {
      row = JSON.parse(lines[i]);
    } catch {
      throw new ApiError(400, 'INVALID_JSON', `line ${line} is not JSON`, { line });
    }
    checkUserId(row?.user_id, { line });
    const profile = parseProfile(row, { extra: ['user_id'], details: { line } });
    checkWithEngine(loaded, row.user_id, profile, { line });
    byUser.set(row.user_id, profile); // a later line for the same user replaces an earlier one
  }
  const updatedAt = await storeProfiles(env, [...byUser]);
  return json({ users: byUser.size, updated_at: updatedAt }, 201);
}

export async function getUser(request, env, { user_id }) {
  const stored = await storedProfile(env, checkUserId(user_id));
  if (!stored) throw new ApiError(404, 'USER_NOT_FOUND', `no stored profile for user ${user_id}`);
  return json({ user_id, ...stored });
}

export async function deleteUser(request, env, { user_id }) {
  await deleteProfile(env, checkUserId(user_id));
  return json({ user_id, deleted: true });
}

/**
 * The coupon of the current manifest, or 404 COUPON_NOT_FOUND (as GET /stats): asking about a
 * coupon that does not exist never creates its Durable Object, nor lists KV under a made-up prefix.
 */
export function couponIn(loaded, couponId) {
  const coupon = loaded.coupons.get(couponId);
  if (!coupon) throw new ApiError(404, 'COUPON_NOT_FOUND', `no coupon ${couponId} in the current manifest`);
  return coupon;
}

export async function getCounters(request, env, { coupon_id }) {
  const user = userQuery(new URL(request.url));
  couponIn(await current(env), coupon_id);
  return json({ coupon_id, ...(await counterOf(env, coupon_id).counters(user)) });
}

/** GET /admin/groups/{group}/counters?user=: a limit group's counters, as a coupon's. */
export async function getGroupCounters(request, env, { group }) {
  const user = userQuery(new URL(request.url));
  if (!Object.hasOwn((await current(env)).payload.limit_groups ?? {}, group)) throw new ApiError(404, 'GROUP_NOT_FOUND', `no limit group ${group} in the current manifest`);
  return json({ group, ...(await counterOf(env, `${GROUP}${group}`).counters(user)) });
}

/** The coupon's ledger events in KV, oldest first (up to 1,000). */
export async function getLedger(request, env, { coupon_id }) {
  couponIn(await current(env), coupon_id);
  const page = await env.STATE.list({ prefix: `ledger:${coupon_id}:`, limit: 1000 });
  const events = await Promise.all(page.keys.map(async (k) => ({ key: k.name, ...(await env.STATE.get(k.name, 'json')) })));
  return json({ coupon_id, events, complete: page.list_complete });
}
