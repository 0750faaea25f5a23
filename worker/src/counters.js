// Where counters and redemption records live: Durable Objects (the default, exact) or KV
// (COUNTER_MODE=kv, a soft cap).
import { KvCounter, kvEventStore, kvRedemptionStore } from './kv-mode.js';
import { Redemption } from './redemption.js';
import { EventFlow } from './event-flow.js';

export const kvMode = (env) => env.COUNTER_MODE === 'kv';

/**
 * A coupon's counters: the same methods (commit, release, confirm, counters, stats, distributed,
 * pool, handOut; addToPool only with Durable Objects).
 */
export function counterOf(env, couponId) {
  if (kvMode(env)) return new KvCounter(env, couponId);
  return env.COUPON_COUNTER.get(env.COUPON_COUNTER.idFromName(couponId));
}

/** A redemption by id: its Durable Object, or in kv mode the same steps over a KV record. */
export function redemptionOf(env, id) {
  if (!kvMode(env)) return env.REDEMPTIONS.get(env.REDEMPTIONS.idFromName(id));
  const flow = new Redemption({ env, store: kvRedemptionStore(env, id), counter: (c) => counterOf(env, c) });
  const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    create: (input) => flow.create(input),
    confirm: () => flow.confirm(now()),
    revert: () => flow.revert(now()),
    view: () => flow.view(),
  };
}

/** A user's event log (POST /events): their UserLog Durable Object, or in kv mode the same steps over KV. */
export function userLogOf(env, userId) {
  if (!kvMode(env)) return env.USER_LOG.get(env.USER_LOG.idFromName(userId));
  const flow = new EventFlow({ env, store: kvEventStore(env, userId), counter: (c) => counterOf(env, c) });
  return { ingest: (input) => flow.ingest(input) };
}
