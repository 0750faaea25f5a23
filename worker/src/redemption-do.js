// RedemptionRecord: one Durable Object per redemption id (the id is derived from the
// Idempotency-Key), holding the idempotency record, which coupons the redemption took, and its hold.
// Concurrent duplicates of one key wait here for the first to finish and then get its reply.
import { DurableObject } from 'cloudflare:workers';
import { Redemption } from './redemption.js';
import { rfc3339 } from './http.js';
import { serial } from './serial.js';

export class RedemptionRecord extends DurableObject {
  #serial = serial(); // every operation on this object, one at a time (serial.js)

  constructor(ctx, env) {
    super(ctx, env);
    const storage = ctx.storage;
    this.flow = new Redemption({
      env,
      store: { get: () => storage.get('record'), put: (r) => storage.put('record', r), delete: () => storage.delete('record') },
      counter: (couponId) => env.COUPON_COUNTER.get(env.COUPON_COUNTER.idFromName(couponId)),
      clearAlarm: () => storage.deleteAlarm(),
      setAlarm: async (at) => {
        const set = await storage.getAlarm();
        if (set === null || at < set) await storage.setAlarm(at);
      },
    });
  }

  create(input) {
    return this.#serial(() => this.flow.create(input));
  }

  confirm() {
    return this.#serial(() => this.flow.confirm(rfc3339(Date.now())));
  }

  revert() {
    return this.#serial(() => this.flow.revert(rfc3339(Date.now())));
  }

  view() {
    return this.#serial(() => this.flow.view());
  }

  alarm() {
    return this.#serial(() => this.flow.tick(rfc3339(Date.now())));
  }
}
