// The usage snapshot the engine prices with at the edge. The counters' authority is each coupon's
// Durable Object; it copies its totals to KV (`usage:<coupon>`, and `usage:<coupon>:u:<user>` per
// user) at most once a second, so previews read KV and may lag the authority by about a second
// (plus KV propagation between locations). In COUNTER_MODE=kv the same keys are the counters.

import { cachedGet } from './kv-cache.js';

// The copies are already up to a second behind the counters; a quarter second more in the isolate
// saves two KV reads per limited coupon on busy carts. The counters decide at commit anyway.
const TTL_MS = 250;

export const usageKey = (couponId) => `usage:${couponId}`;
export const userUsageKey = (couponId, userId) => `usage:${couponId}:u:${userId}`;

const hasPeriodLimits = (coupon) => ['per_day', 'per_week', 'per_month'].some((k) => coupon.limits?.[k] !== undefined);
const hasUserPeriodLimits = (coupon) =>
  ['per_user_per_day', 'per_user_per_week', 'per_user_per_month'].some((k) => coupon.limits?.[k] !== undefined);
export const hasLimits = (coupon) => Boolean(coupon?.limits && Object.keys(coupon.limits).length);

// A limit group (manifest `limit_groups`) is counted like a coupon, by its own counter named
// `group:<name>` (coupon ids have no ':', so the names never meet): `{ id, group, limits }` stands
// for it wherever a coupon's counters are read or shaped.
export const GROUP = 'group:';
export const groupOf = (loaded, coupon) => {
  const name = coupon?.limits?.group;
  return name ? { id: `${GROUP}${name}`, group: name, limits: loaded.payload.limit_groups?.[name] ?? {} } : null;
};

/** What a counter named `key` counts: a coupon of the manifest, or a limit group. */
export const counted = (loaded, key) => (key.startsWith(GROUP)
  ? groupOf(loaded, { limits: { group: key.slice(GROUP.length) } })
  : loaded.coupons.get(key));

/** One coupon's entry in the engine's UsageSnapshot, from its KV copy. */
export async function readUsage(env, coupon, userId) {
  const [total, mine] = await Promise.all([
    cachedGet(env.STATE, usageKey(coupon.id), 'json', TTL_MS),
    userId ? cachedGet(env.STATE, userUsageKey(coupon.id, userId), 'json', TTL_MS) : null,
  ]);
  // A user's copy is `{ redemptions, periods }` (a bare number from before period limits).
  const user = typeof mine === 'number' ? { redemptions: mine } : mine;
  return usageEntry(coupon, total, user?.redemptions ?? (userId ? 0 : null), user?.periods);
}

/** One coupon's entry from its counter (the authority, for redemptions and events). */
export async function counterUsage(counter, coupon, userId) {
  const c = await counter.counters(userId);
  return usageEntry(coupon, c, c.user_redemptions ?? null, c.user_periods);
}

/**
 * Shapes counters as the engine reads them; `periods` / `user_periods` (uses per period label) only
 * for coupons with such limits, so an engine without period limits never sees the fields.
 */
export function usageEntry(coupon, total, userUses, userPeriods) {
  const entry = { redemptions: total?.redemptions ?? 0, discount_given: total?.discount_given ?? '0' };
  if (userUses !== null && userUses !== undefined) entry.user_redemptions = Number(userUses);
  if (hasPeriodLimits(coupon)) entry.periods = total?.periods ?? {};
  if (hasUserPeriodLimits(coupon) && userUses !== null && userUses !== undefined) entry.user_periods = userPeriods ?? {};
  return entry;
}
