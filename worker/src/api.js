// Public routes: manifest, keys, tray, user context, evaluate, redemptions, stats. Each reads the
// request, asks the engine (through pricing.js) or a Durable Object, and shapes the answer.
import { ApiError, json, rawJson, readJsonObject, rfc3339, sha256Hex } from './http.js';
import { current } from './manifest-store.js';
import { call, manifestKeys } from './engine.js';
import { priceAtEdge, userContext } from './pricing.js';
import { readOverrides } from './overrides.js';
import { assertNotLocked, locked, recordFailures, subjects } from './attempts.js';
import { counterOf, kvMode, redemptionOf } from './counters.js';
import { statsQuery } from './stats.js';
import { checkBodyUser, checkUserId, userQuery } from './profiles.js';

const MAX_BODY_BYTES = 256 * 1024; // a 1,000-line cart is about 150 KB
const MAX_HOLD_MS = 7 * 86400e3;
const now = () => rfc3339(Date.now());

export async function getManifest(request, env) {
  const loaded = await current(env);
  const headers = { etag: loaded.etag, 'cache-control': 'no-cache' };
  const tags = (request.headers.get('if-none-match') ?? '').split(',').map((t) => t.trim().replace(/^W\//, ''));
  if (tags.includes(loaded.etag) || tags.includes('*')) return new Response(null, { status: 304, headers });
  return new Response(loaded.jws, { headers: { 'content-type': 'application/jose', ...headers } });
}

export function getJwks(request, env) {
  return json(manifestKeys(env), 200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'max-age=300' });
}

/**
 * The tray of a user (by id, priced on their stored profile and assignments), without coupons
 * paused at the edge. An entry of a coupon assigned to the user carries the assignment's
 * `assigned_at` and the user's `code`: with them a page can price the coupon offline (they make the
 * `assignments` entry the engine needs).
 */
export async function getTray(request, env) {
  const user = userQuery(new URL(request.url), { required: true });
  const loaded = await current(env);
  const [ctx, overrides] = await Promise.all([userContext(env, { id: user }), readOverrides(env)]);
  const tray = call(() => loaded.engine.tray({ ...ctx, now: now() }));
  const assigned = new Map((ctx.assignments ?? []).map((a) => [a.coupon_id, a]));
  return json(tray.filter((t) => !overrides[t.coupon_id]).map((t) => {
    const a = assigned.get(t.coupon_id);
    // The code this user types: the engine lists an assigned bulk code (normalised) or the static one.
    return a ? { ...t, assigned_at: a.assigned_at, code: t.code ?? a.code ?? null } : t;
  }));
}

/**
 * GET /users/{id}/context: exactly the user context the Worker prices this user with (stored
 * profile and assignments), for the page's offline preview. Private to that user: serve it behind
 * the shop's session layer, like every route that takes a user id (docs/worker.md).
 */
export async function getUserContext(request, env, { user_id }) {
  checkUserId(user_id);
  return json(await userContext(env, { id: user_id }), 200, { 'cache-control': 'private, no-store' });
}

const codesOf = (body) => (Array.isArray(body.codes) ? body.codes.length : 0);

export async function postEvaluate(request, env) {
  const { value: body } = await readJsonObject(request, MAX_BODY_BYTES);
  checkBodyUser(body.user);
  const who = subjects(request, body.user?.id);
  if (codesOf(body)) await assertNotLocked(env, who);
  const priced = await priceAtEdge(env, await current(env), body, now());
  // The request that reaches the limit is already answered with the lockout.
  const until = await recordFailures(env, who, priced.failedCodes);
  if (until) throw locked(until);
  return json(priced.evaluation);
}

/** ISO 8601 duration (days, hours, minutes, seconds) in ms, or null when it is not one. */
export function durationMs(text) {
  const m = typeof text === 'string' && /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) return null;
  const [d, h, min, s] = m.slice(1).map((x) => Number(x ?? 0));
  return (((d * 24 + h) * 60 + min) * 60 + s) * 1000;
}

export async function postRedemption(request, env) {
  const key = request.headers.get('idempotency-key');
  if (!key || key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
    throw new ApiError(400, 'IDEMPOTENCY_KEY_REQUIRED', 'POST /redemptions needs an Idempotency-Key header: 1-255 visible ASCII characters');
  }
  const { text, value: body } = await readJsonObject(request, MAX_BODY_BYTES);
  const { order_id: orderId, hold, ...input } = body;
  if (typeof orderId !== 'string' || !orderId || orderId.length > 128) {
    throw new ApiError(400, 'INVALID_REQUEST', 'order_id must be a string of 1-128 characters', { path: 'order_id' });
  }
  let holdMs = 0;
  if (hold !== undefined) {
    holdMs = durationMs(hold);
    if (!holdMs || holdMs > MAX_HOLD_MS) {
      throw new ApiError(400, 'INVALID_REQUEST', 'hold must be an ISO 8601 duration from PT1S to P7D, such as "PT15M"', { path: 'hold' });
    }
    if (kvMode(env)) throw new ApiError(400, 'HOLD_UNSUPPORTED', 'holds need Durable Objects; this Worker runs with COUNTER_MODE=kv');
  }
  checkBodyUser(input.user);
  const who = subjects(request, input.user?.id);
  if (codesOf(input)) await assertNotLocked(env, who);
  const id = `rd_${(await sha256Hex(key)).slice(0, 32)}`;
  const res = await redemptionOf(env, id).create({
    id, body_hash: await sha256Hex(text), text, hold_ms: holdMs, now: now(),
  });
  // Its answer is stored (and nothing was consumed), so a lockout starts with the next request.
  if (!res.replayed) await recordFailures(env, who, res.failed_codes ?? 0);
  const headers = res.replayed ? { 'idempotent-replayed': 'true' } : {};
  if (res.status === 201) headers.location = `/redemptions/${id}`;
  return rawJson(res.body, res.status, headers);
}

const REDEMPTION_ID = /^rd_[0-9a-f]{32}$/;

function redemption(env, id) {
  if (!REDEMPTION_ID.test(id)) throw new ApiError(404, 'REDEMPTION_NOT_FOUND', 'no redemption with this id');
  return redemptionOf(env, id);
}

const asResponse = (res) => rawJson(res.body, res.status);
export const getRedemption = async (request, env, { id }) => asResponse(await redemption(env, id).view());
export const confirmRedemption = async (request, env, { id }) => asResponse(await redemption(env, id).confirm());
export const revertRedemption = async (request, env, { id }) => asResponse(await redemption(env, id).revert());

export async function getStats(request, env, { coupon_id }) {
  const query = statsQuery(new URL(request.url));
  const loaded = await current(env);
  if (!loaded.coupons.has(coupon_id)) throw new ApiError(404, 'COUPON_NOT_FOUND', `no coupon ${coupon_id} in the current manifest`);
  const periods = await counterOf(env, coupon_id).stats(query);
  return json({ coupon_id, ...query, periods });
}
