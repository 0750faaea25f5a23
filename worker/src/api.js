// Public routes: manifest, keys, tray, user context, evaluate, redemptions, stats. Each reads the
// request, asks the engine (through pricing.js) or a Durable Object, and shapes the answer.
import { ApiError, json, rawJson, readJsonObject, rfc3339, sha256Hex } from './http.js';
import { current } from './manifest-store.js';
import { call, manifestKeys } from './engine.js';
import { priceAtEdge, userContext } from './pricing.js';
import { readOverrides } from './overrides.js';
import { countReservation, locked, subjects, withAttempts } from './attempts.js';
import { counterOf, kvMode, redemptionOf } from './counters.js';
import { statsQuery } from './stats.js';
import { checkBodyUser, checkUserId, userQuery } from './profiles.js';
import { identify, requireShop, userFor, withUser } from './identity.js';
import { couponIn } from './admin.js';

const MAX_BODY_BYTES = 256 * 1024; // a 1,000-line cart is about 150 KB
const MAX_HOLD_MS = 7 * 86400e3;
// A browser may only reserve, for at most this long (BROWSER_HOLD_MAX_S); the shop's backend confirms.
const browserHoldMs = (env) => Number(env.BROWSER_HOLD_MAX_S ?? 900) * 1000;
const now = () => rfc3339(Date.now());

/**
 * The clock a preview prices at: the edge's, or in dev mode only (DEV_MODE = "true", as `make dev`
 * sets it) the `X-Dev-Now` header's RFC 3339 time, so a shop can try a weekend coupon on a Thursday.
 */
function previewClock(request, env) {
  const asked = request.headers.get('x-dev-now');
  if (asked === null) return now();
  if (env.DEV_MODE !== 'true') {
    throw new ApiError(400, 'DEV_CLOCK_DISABLED', 'X-Dev-Now sets the clock only on a Worker in dev mode (DEV_MODE = "true"); this one prices at its own clock');
  }
  const ms = Date.parse(asked);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.test(asked) || Number.isNaN(ms)) {
    throw new ApiError(400, 'INVALID_REQUEST', 'X-Dev-Now must be an RFC 3339 time, such as 2026-12-05T10:00:00Z', { header: 'x-dev-now' });
  }
  return rfc3339(ms);
}

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
 * The tray of the caller's user (a shopper's token, or `?user=` from the shop's backend; none for
 * an anonymous shopper), priced on their stored profile and assignments, without coupons paused
 * at the edge. An entry of a coupon assigned to the user carries the assignment's
 * `assigned_at` and the user's `code`: with them a page can price the coupon offline (they make the
 * `assignments` entry the engine needs).
 */
export async function getTray(request, env) {
  const user = userFor(await identify(request, env), userQuery(new URL(request.url)));
  const loaded = await current(env);
  const [ctx, overrides] = await Promise.all([user ? userContext(env, { id: user }) : {}, readOverrides(env)]);
  const at = previewClock(request, env);
  const tray = call(() => loaded.engine.tray({ ...ctx, now: at }));
  const assigned = new Map((ctx.assignments ?? []).map((a) => [a.coupon_id, a]));
  return json(tray.filter((t) => !overrides[t.coupon_id]).map((t) => {
    const a = assigned.get(t.coupon_id);
    // The code this user types: the engine lists an assigned bulk code (normalised) or the static one.
    return a ? { ...t, assigned_at: a.assigned_at, code: t.code ?? a.code ?? null } : t;
  }));
}

/**
 * GET /users/{id}/context: exactly the user context the Worker prices this user with (stored
 * profile and assignments), for the page's offline preview. Private: to that user's shopper token
 * or the shop's backend.
 */
export async function getUserContext(request, env, { user_id }) {
  const who = await identify(request, env);
  if (who.role === 'anonymous') {
    const err = new ApiError(401, 'SHOPPER_TOKEN_REQUIRED', 'a user\'s context needs their shopper token: Authorization: Bearer <token>');
    err.headers = { 'www-authenticate': 'Bearer' };
    throw err;
  }
  checkUserId(userFor(who, user_id));
  return json(await userContext(env, { id: user_id }), 200, { 'cache-control': 'private, no-store' });
}

const codesOf = (body) => (Array.isArray(body.codes) ? body.codes.length : 0);

export async function postEvaluate(request, env) {
  const caller = await identify(request, env);
  const { value } = await readJsonObject(request, MAX_BODY_BYTES);
  checkBodyUser(value.user);
  const body = withUser(caller, value);
  // An order edit gives the order's uses back before limits are checked: only the shop knows
  // which order, and what it had; a shopper's word would lift every limit.
  if (value.previous !== undefined) requireShop(caller, 'an order edit (`previous`)');
  const at = previewClock(request, env);
  const who = subjects(request, body.user?.id, caller);
  const { result: priced, until } = await withAttempts(env, who, codesOf(body), async () => {
    const p = await priceAtEdge(env, await current(env), body, at);
    return { result: p, failed: p.failedCodes };
  });
  // The request that reaches the limit is already answered with the lockout.
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
  const caller = await identify(request, env);
  const { text, value } = await readJsonObject(request, MAX_BODY_BYTES);
  checkBodyUser(value.user);
  const { order_id: orderId, hold, ...input } = withUser(caller, value);
  if (typeof orderId !== 'string' || !orderId || orderId.length > 128) {
    throw new ApiError(400, 'INVALID_REQUEST', 'order_id must be a string of 1-128 characters', { path: 'order_id' });
  }
  if (input.previous !== undefined) {
    // The counters would take `previous` at its word and give its uses back: an edit is priced
    // with POST /evaluate, and committed by reverting the order's redemption and redeeming anew.
    throw new ApiError(400, 'INVALID_REQUEST', 'previous (an order edit) is for POST /evaluate; to commit an edit, revert the order\'s redemption and redeem the edited order', { path: 'previous' });
  }
  let holdMs = 0;
  if (hold !== undefined) {
    holdMs = durationMs(hold);
    if (!holdMs || holdMs > MAX_HOLD_MS) {
      throw new ApiError(400, 'INVALID_REQUEST', 'hold must be an ISO 8601 duration from PT1S to P7D, such as "PT15M"', { path: 'hold' });
    }
    if (kvMode(env)) throw new ApiError(400, 'HOLD_UNSUPPORTED', 'holds need Durable Objects; this Worker runs with COUNTER_MODE=kv');
  }
  if (caller.role !== 'shop' && !(holdMs && holdMs <= browserHoldMs(env))) {
    const max = browserHoldMs(env) / 1000;
    requireShop(caller, `a redemption without a hold of at most ${max / 60} minutes (a browser may only reserve)`);
  }
  const who = subjects(request, input.user?.id, caller);
  if (caller.role !== 'shop') await countReservation(env, who);
  // One caller's key never reaches another's redemption (a replay would show their order).
  const principal = caller.role === 'shop' ? 'shop' : caller.userId ? `user:${caller.userId}` : 'anonymous';
  const id = `rd_${(await sha256Hex(`${principal}\n${key}`)).slice(0, 32)}`;
  // Its answer is stored (and nothing was consumed), so a lockout starts with the next request; a
  // replay evaluated nothing and gives its slots back.
  const { result: res } = await withAttempts(env, who, codesOf(input), async () => {
    const r = await redemptionOf(env, id).create({
      id, body_hash: await sha256Hex(text), text, caller, hold_ms: holdMs, now: now(),
    });
    return { result: r, failed: r.replayed ? 0 : r.failed_codes ?? 0 };
  });
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
/** The shop's backend only: reading, confirming (on payment) and reverting (on cancellation). */
const shopOnly = (what, step) => async (request, env, { id }) => {
  requireShop(await identify(request, env), what);
  return asResponse(await step(redemption(env, id)));
};
export const getRedemption = shopOnly('reading a redemption', (r) => r.view());
export const confirmRedemption = shopOnly('confirming a redemption', (r) => r.confirm());
export const revertRedemption = shopOnly('reverting a redemption', (r) => r.revert());

export async function getStats(request, env, { coupon_id }) {
  const query = statsQuery(new URL(request.url));
  couponIn(await current(env), coupon_id);
  const periods = await counterOf(env, coupon_id).stats(query);
  return json({ coupon_id, ...query, periods });
}
