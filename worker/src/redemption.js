// One redemption's life: idempotent creation, hold, confirm, revert, lapse. Used by the
// RedemptionRecord Durable Object (one per redemption id); in COUNTER_MODE=kv the same steps run
// against KV (kv-mode.js). `store` keeps the record, `counter(couponId)` reaches a coupon's counters.
import { current } from './manifest-store.js';
import { errorBody, errorResponse, parseJson, rfc3339 } from './http.js';
import { priceAtEdge } from './pricing.js';
import { counterUsage, groupOf } from './usage.js';
import { withUser } from './identity.js';

// Rejections that do not stop a redemption: a code typed twice still applies once.
const HARMLESS = new Set(['DUPLICATE_CODE']);
export const CRASH_GUARD_MS = 60_000; // an attempt still in flight after this is rolled back

const reply = (status, body) => ({ status, body: JSON.stringify(body) });
const problem = (status, code, message, details) => reply(status, errorBody(code, message, details));

/** An HTTP error as a stored reply (thrown errors cannot cross RPC with their details). */
async function asReply(err) {
  const res = errorResponse(err);
  return { status: res.status, body: await res.text() };
}

export class Redemption {
  constructor({ env, store, counter, setAlarm, clearAlarm }) {
    Object.assign(this, { env, store, counter, setAlarm, clearAlarm });
  }

  /**
   * Creates the redemption once. input: {id, body_hash, text, caller, hold_ms, now}, `text` the request
   * body as received (already checked by the route). The first reply is
   * stored and replayed byte for byte; a different body under the same key is 409. Replies for
   * requests that change nothing (bad input, no manifest, a counter unreachable) are not stored.
   */
  async create(input) {
    let rec = await this.store.get();
    if (rec && rec.body_hash !== input.body_hash) {
      return problem(409, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with another request body');
    }
    if (rec?.state === 'done') return { ...rec.response, replayed: true };
    if (rec?.state === 'in_flight') await this.rollback(rec); // a crashed attempt: give its uses back first

    rec = { id: input.id, body_hash: input.body_hash, state: 'in_flight', started_at: input.now, attempt: [] };
    await this.store.put(rec);
    await this.setAlarm?.(Date.now() + CRASH_GUARD_MS);
    // The body crosses RPC as text, parsed here: structured clone refuses a value nested a few
    // thousand levels deep (a 500), where the engine answers it as it does in POST /evaluate.
    // As the route priced it: the user is the caller's (identity.js), not the body's word.
    const { order_id: orderId, hold: _hold, ...body } = withUser(input.caller, parseJson(input.text));
    let priced;
    let version;
    let loaded;
    try {
      loaded = await current(this.env);
      version = loaded.version;
      // Redemptions price with the counters themselves (not their KV copies), so the usual refusal
      // is the engine's own reason; the counters still re-check at commit for races.
      const usageFor = (coupon, userId) => counterUsage(this.counter(coupon.id), coupon, userId);
      // allocations: the 201 body and the record keep each coupon's share per line (docs/manifest.md).
      // A value that is not true or false goes to the engine as sent, which refuses it as on /evaluate.
      const allocations = body.allocations === undefined || typeof body.allocations === 'boolean' ? true : body.allocations;
      priced = await priceAtEdge(this.env, loaded, { ...body, allocations }, input.now, { usageFor });
    } catch (err) {
      await this.store.delete();
      return { ...(await asReply(err)), failed_codes: 0 };
    }
    const { evaluation } = priced;
    const refused = evaluation.rejected.filter((r) => !HARMLESS.has(r.reason.code));
    if (refused.length) {
      return this.finish(rec, 'refused', problem(409, 'CODES_REJECTED',
        'some codes do not apply; remove them (or fix the cart) and redeem with a new Idempotency-Key',
        { rejected: refused, evaluation }), priced.failedCodes);
    }
    const coupons = [...evaluation.applied].sort((a, b) => (a.coupon_id < b.coupon_id ? -1 : 1));
    // A coupon of a limit group takes a use of the group (its counter `group:<name>`, one use per
    // redemption: the engine applies one coupon of a group per cart) before its own.
    const steps = coupons.flatMap((c) => {
      const g = groupOf(loaded, loaded.coupons.get(c.coupon_id));
      return [...(g ? [{ key: g.id, group: g.group, c }] : []), { key: c.coupon_id, c }];
    });
    rec.attempt = steps.map((s) => s.key);
    rec.version = version;
    await this.store.put(rec);
    const holdUntil = input.hold_ms ? rfc3339(Date.parse(input.now) + input.hold_ms) : null;
    const taken = [];
    for (const { key, group, c } of steps) {
      let res;
      try {
        res = await this.counter(key).commit({
          redemption_id: rec.id, version, request: priced.request, coupon_id: c.coupon_id, ...(group ? { group } : {}),
          expected: { discount: c.discount, cashback_points: c.cashback_points, code: c.code },
          user_id: priced.request.user?.id ?? null, code_hash: group ? null : (priced.bulk[c.coupon_id]?.hash ?? null),
          held: Boolean(holdUntil), order_id: orderId, gmv: evaluation.totals.subtotal,
          day: evaluation.periods?.day ?? input.now.slice(0, 10), periods: evaluation.periods ?? null, now: input.now,
        });
      } catch (err) {
        console.error('counter unreachable', key, err);
        if (await this.rollback(rec)) await this.store.delete();
        return problem(503, 'COUNTER_UNAVAILABLE', `the counter of ${key} did not answer; retry with the same Idempotency-Key`);
      }
      if (!res.ok) {
        await this.rollback(rec, taken);
        return this.finish(rec, 'refused', problem(409, 'COUPON_REFUSED',
          'a coupon was used up or changed while redeeming; price the cart again and redeem with a new Idempotency-Key',
          { rejected: [res.rejected] }), priced.failedCodes);
      }
      taken.push(key);
    }
    const redemption = {
      id: rec.id, status: holdUntil ? 'reserved' : 'redeemed', order_id: orderId, created_at: input.now,
      ...(holdUntil ? { expires_at: holdUntil } : {}),
      coupons: coupons.map((c) => ({ coupon_id: c.coupon_id, code: c.code, discount: c.discount })),
    };
    // `coupons`: the ids the counters are told about; `applied`: what GET /redemptions/{id} lists.
    Object.assign(rec, {
      coupons: rec.attempt, applied: redemption.coupons, hold_until: holdUntil, order_id: orderId, status: redemption.status,
      user_id: priced.request.user?.id ?? null,
    });
    const out = await this.finish(rec, redemption.status, reply(201, { redemption, evaluation }), priced.failedCodes);
    if (holdUntil) await this.setAlarm?.(Date.parse(holdUntil));
    return out;
  }

  async finish(rec, outcome, response, failedCodes) {
    Object.assign(rec, { state: 'done', outcome, response, attempt: [] });
    if (outcome === 'refused') rec.status = 'refused';
    await this.store.put(rec);
    await this.clearAlarm?.(); // the crash guard is not needed any more (a hold sets its own)
    return { ...response, failed_codes: failedCodes };
  }

  /** Gives back the uses of an attempt that did not finish. True when every counter answered. */
  async rollback(rec, only = rec.attempt) {
    const results = await Promise.allSettled(only.map((c) => this.counter(c).release({ redemption_id: rec.id, kind: 'abort', now: rfc3339(Date.now()) })));
    return results.every((r) => r.status === 'fulfilled');
  }

  async confirm(now) {
    const rec = await this.found();
    if (!rec) return notFound();
    // A revert after a confirm wins over replaying that confirm: the redemption is not redeemed now.
    if (rec.status === 'reverted') return problem(409, 'REDEMPTION_REVERTED', 'this redemption was reverted');
    if (rec.confirm_response) return rec.confirm_response;
    if (rec.status === 'reserved' && Date.parse(now) >= Date.parse(rec.hold_until)) await this.lapse(now);
    if (rec.status === 'lapsed') return problem(409, 'HOLD_LAPSED', `the hold lapsed at ${rec.hold_until}; its uses were given back`);
    if (rec.status !== 'reserved') return problem(409, 'NOT_RESERVED', 'this redemption was made without a hold; there is nothing to confirm');
    rec.status = 'redeemed';
    rec.confirm_response = reply(200, { redemption: { id: rec.id, status: 'redeemed', order_id: rec.order_id, confirmed_at: now } });
    rec.pending = rec.coupons.map((c) => ({ coupon_id: c, op: 'confirm', now }));
    await this.store.put(rec);
    await this.drain();
    return rec.confirm_response;
  }

  /** Gives the uses back exactly once; asking again answers the same and changes nothing. */
  async revert(now) {
    const rec = await this.found();
    if (!rec) return notFound();
    if (rec.revert_response) return rec.revert_response;
    if (rec.status === 'reserved' && Date.parse(now) >= Date.parse(rec.hold_until)) await this.lapse(now);
    const after = await this.store.get();
    if (after.status === 'lapsed') {
      after.revert_response = reply(200, { redemption: { id: after.id, status: 'lapsed', order_id: after.order_id, lapsed_at: after.lapsed_at } });
    } else {
      after.status = 'reverted';
      after.revert_response = reply(200, { redemption: { id: after.id, status: 'reverted', order_id: after.order_id, reverted_at: now } });
      after.pending = [...(after.pending ?? []), ...after.coupons.map((c) => ({ coupon_id: c, op: 'release', kind: 'revert', now }))];
    }
    await this.store.put(after);
    await this.drain();
    return after.revert_response;
  }

  async view() {
    const rec = await this.found();
    if (!rec) return notFound();
    const { id, status, order_id, hold_until } = rec;
    // As the 201 lists them; a record stored before `applied` existed knows only the ids.
    const coupons = rec.applied ?? rec.coupons.map((coupon_id) => ({ coupon_id }));
    // Whose it is (only the shop's backend reads this route): null for an anonymous reservation.
    const user_id = rec.user_id ?? null;
    return reply(200, { redemption: { id, status, order_id, user_id, coupons, ...(hold_until ? { expires_at: hold_until } : {}) } });
  }

  /** A hold that was neither confirmed nor reverted in time gives its uses back. */
  async lapse(now) {
    const rec = await this.store.get();
    if (rec?.status !== 'reserved') return;
    rec.status = 'lapsed';
    rec.lapsed_at = rec.hold_until;
    rec.pending = [...(rec.pending ?? []), ...rec.coupons.map((c) => ({ coupon_id: c, op: 'release', kind: 'lapse', now }))];
    await this.store.put(rec);
    await this.drain();
  }

  /** Carries state changes to the coupons' counters, one at a time; each is idempotent there, so a
   *  retry after a failure (alarm in 1 s) or a second drain running alongside changes nothing twice. */
  async drain() {
    for (;;) {
      const rec = await this.store.get();
      const p = rec?.pending?.[0];
      if (!p) return;
      try {
        const stub = this.counter(p.coupon_id);
        if (p.op === 'confirm') await stub.confirm({ redemption_id: rec.id, now: p.now });
        else await stub.release({ redemption_id: rec.id, kind: p.kind, now: p.now });
      } catch (err) {
        console.error('counter unreachable; retrying', p, err);
        await this.setAlarm?.(Date.now() + 1000);
        return;
      }
      const latest = await this.store.get();
      const same = (q) => q.coupon_id === p.coupon_id && q.op === p.op && q.kind === p.kind;
      const i = latest.pending.findIndex(same);
      if (i >= 0) latest.pending.splice(i, 1);
      await this.store.put(latest);
    }
  }

  /** Alarm: lapse an expired hold, retry pending changes, roll back a crashed attempt. */
  async tick(now) {
    const rec = await this.store.get();
    if (!rec) return;
    if (rec.state === 'in_flight' && Date.parse(now) - Date.parse(rec.started_at) >= CRASH_GUARD_MS - 1000) {
      if (await this.rollback(rec)) await this.store.delete();
      else await this.setAlarm?.(Date.now() + 5000);
      return;
    }
    if (rec.status === 'reserved') {
      if (Date.parse(now) >= Date.parse(rec.hold_until)) await this.lapse(now);
      else await this.setAlarm?.(Date.parse(rec.hold_until));
    }
    if ((await this.store.get())?.pending?.length) await this.drain();
  }

  async found() {
    const rec = await this.store.get();
    return rec?.state === 'done' && rec.outcome !== 'refused' ? rec : null;
  }
}

const notFound = () => problem(404, 'REDEMPTION_NOT_FOUND', 'no redemption with this id');
