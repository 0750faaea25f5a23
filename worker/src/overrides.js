// Pause / resume / end a coupon at the edge without re-signing: one KV record of status overrides
// (`overrides` -> { coupon_id: { status, at } }). The engine has no override input, so the Worker
// enforces them around it (pricing.js): codes of an overridden coupon are taken out of the request
// and answered with the engine's own PAUSED / ENDED reason shape; automatic coupons are made to
// look used up in the usage snapshot, so the engine itself leaves them out.
import { ApiError } from './http.js';
import { cachedGet, remember } from './kv-cache.js';

const KEY = 'overrides';
// Archived is over for good, like ended: the engine's ENDED reason (docs/errors.md).
export const OVERRIDE_STATUSES = { paused: 'PAUSED', ended: 'ENDED', archived: 'ENDED' };
const MESSAGES = { PAUSED: 'this coupon is paused for now', ENDED: 'this coupon has ended' };

// An isolate re-reads the overrides at most once a second: a pause reaches the isolate that made it
// at once, every other isolate within a second (plus KV propagation between locations).
const TTL_MS = 1000;

export async function readOverrides(env) {
  return (await cachedGet(env.STATE, KEY, 'json', TTL_MS)) ?? {};
}

/** The reason an overridden coupon gets, shaped like the engine's (docs/errors.md). */
export function overrideReason(status) {
  const code = OVERRIDE_STATUSES[status];
  return { code, message: MESSAGES[code], status };
}

/**
 * Usage that makes a coupon used up, so the engine drops it. Null when the coupon has no limit to
 * exhaust: such an automatic coupon cannot be paused at the edge (setOverride refuses it).
 */
export function exhaustedUsage(coupon) {
  const l = coupon.limits ?? {};
  if (!l.global && !l.per_user && !l.budget) return null;
  const u = {};
  if (l.global) u.redemptions = l.global;
  if (l.per_user) u.user_redemptions = l.per_user;
  if (l.budget) u.discount_given = l.budget;
  return u;
}

/** status: "paused" | "ended" | "archived" | "active" (resume: the signed manifest's status applies again). */
export async function setOverride(env, loaded, couponId, status) {
  const coupon = loaded.coupons.get(couponId);
  if (!coupon) throw new ApiError(404, 'COUPON_NOT_FOUND', `no coupon ${couponId} in the current manifest`);
  const overrides = await readOverrides(env);
  if (status === 'active') {
    delete overrides[couponId];
  } else {
    if (coupon.codes.type === 'automatic' && !exhaustedUsage(coupon)) {
      throw new ApiError(422, 'OVERRIDE_UNSUPPORTED',
        `automatic coupon ${couponId} has no limit, so the edge cannot hold it back; publish a manifest with status "${status}"`);
    }
    overrides[couponId] = { status, at: new Date().toISOString() };
  }
  await env.STATE.put(KEY, JSON.stringify(overrides));
  remember(KEY, overrides, TTL_MS);
  return overrides[couponId] ?? { status: 'active' };
}
