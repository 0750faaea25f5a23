// One user event, end to end (POST /events). The engine decides what the event does
// (`engine.distribute`, on the user's context from before it, with the counters of the coupons it
// would give); this stores what it decided: the event in the user's log, the assignments it made,
// with a code from the coupon's pool for coupons with bulk codes, and the activations it reported.
// Runs inside the user's UserLog Durable Object, one event at a time; in COUNTER_MODE=kv the same
// steps run over KV (kv-mode.js). `store` keeps the user's log and the answers per event id, and
// writes the KV copy of the log (`sync`); `counter(couponId)` reaches a coupon's counters (usage,
// pool, stats).
import { current } from './manifest-store.js';
import { call } from './engine.js';
import { errorBody, errorResponse, rfc3339 } from './http.js';
import { profileOf } from './profiles.js';
import { assignmentsOf } from './assignments.js';
import { copyOf, mergeActivations, mergeContext, trim } from './event-log.js';
import { overrideReason, readOverrides } from './overrides.js';
import { counterUsage, groupOf, hasLimits } from './usage.js';

const reply = (status, body) => ({ status, body: JSON.stringify(body) });
const problem = (status, code, message, details) => reply(status, errorBody(code, message, details));

/** An HTTP error as a reply (thrown errors cannot cross RPC with their details). */
async function asReply(err) {
  const res = errorResponse(err);
  return { status: res.status, body: await res.text() };
}

const counterUnavailable = () => problem(503, 'COUNTER_UNAVAILABLE',
  'a coupon counter did not answer; the event was not stored: send the same event again (a code already handed out for it goes to the retry)');

const poolEmpty = (couponId) => ({
  code: 'CODE_POOL_EMPTY',
  message: `the code pool of ${couponId} is empty; add codes with POST /admin/coupons/${couponId}/codes?pool=true`,
});

export class EventFlow {
  constructor({ env, store, counter }) {
    Object.assign(this, { env, store, counter });
  }

  /**
   * input: { user_id, event: { id, name, at, properties? }, body_hash, now }. The first answer is
   * stored with the body hash and replayed as it was (`replayed: true`); another body under the
   * same id is 409. Answers to events that changed nothing (bad input, no manifest, a counter
   * unreachable) are not stored, so the event can be sent again.
   */
  async ingest({ user_id: userId, event, body_hash: bodyHash, now }) {
    const seen = await this.store.seen(event.id);
    if (seen) {
      if (seen.body_hash !== bodyHash) {
        return problem(409, 'EVENT_ID_CONFLICT', `event ${event.id} of user ${userId} was sent before with another body`, { event_id: event.id });
      }
      // The copy is written after the log: a crash between the two heals with the retry.
      await this.store.sync();
      return { ...seen.response, replayed: true };
    }
    let loaded;
    let state;
    let overrides;
    let ctx;
    let result;
    try {
      loaded = await current(this.env);
      state = await this.store.state();
      let profile;
      let admin;
      [profile, admin, overrides] = await Promise.all([profileOf(this.env, userId), assignmentsOf(this.env, userId), readOverrides(this.env)]);
      ctx = { id: userId, ...mergeContext(profile, admin, copyOf(state)), now };
      result = call(() => loaded.engine.distribute(ctx, event));
    } catch (err) {
      return asReply(err);
    }

    // Lifetime limits (per_user, global, budget) are the engine's to check, from the counters: those
    // of each coupon the event would give (assigned, or held already: the engine checks limits
    // before ALREADY_ASSIGNED) that has limits, read from the coupon's counters as redemptions do.
    const limited = [...result.assigned, ...result.skipped.filter((s) => s.reason.code === 'ALREADY_ASSIGNED')]
      .map((x) => x.coupon_id)
      .filter((id) => !overrides[id] && hasLimits(loaded.coupons.get(id)));
    // Their limit groups' counters too (`group:<name>`, usage.js), once each.
    const shared = [...new Map(limited.map((id) => groupOf(loaded, loaded.coupons.get(id))).filter(Boolean).map((g) => [g.id, g])).values()];
    if (limited.length) {
      let entries;
      let groupEntries;
      try {
        [entries, groupEntries] = await Promise.all([
          Promise.all(limited.map((id) => counterUsage(this.counter(id), loaded.coupons.get(id), userId))),
          Promise.all(shared.map((g) => counterUsage(this.counter(g.id), g, userId))),
        ]);
      } catch (err) {
        console.error('counter unreachable', err);
        return counterUnavailable();
      }
      const usage = { coupons: Object.fromEntries(limited.map((id, i) => [id, entries[i]])) };
      if (shared.length) usage.groups = Object.fromEntries(shared.map((g, i) => [g.group, groupEntries[i]]));
      try {
        result = call(() => loaded.engine.distribute(ctx, event, usage));
      } catch (err) {
        return asReply(err);
      }
    }
    result = heldBack(result, overrides);

    // Each assignment at its coupon's counter: counted in the stats once, with a pooled code for
    // bulk coupons; both idempotent per (user, event), so a retry after a crash gets the same code.
    const key = `${userId}\n${event.id}`;
    let outs;
    try {
      outs = await Promise.all(result.assigned.map((a) => this.counter(a.coupon_id).handOut({
        key, day: rfc3339(Date.parse(a.assigned_at)).slice(0, 10), bulk: a.bulk, now,
      })));
    } catch (err) {
      console.error('counter unreachable', err);
      return counterUnavailable();
    }
    const assigned = [];
    const skipped = [...result.skipped];
    result.assigned.forEach((a, i) => {
      if (outs[i].empty) skipped.push({ coupon_id: a.coupon_id, reason: poolEmpty(a.coupon_id) });
      else assigned.push({ coupon_id: a.coupon_id, assigned_at: a.assigned_at, ...(outs[i].code ? { code: outs[i].code } : {}) });
    });

    const response = reply(201, {
      event_id: event.id, user_id: userId, name: event.name, at: event.at, assigned, activated: result.activated, skipped,
    });
    const next = nextState(state, event, result.activated, assigned);
    await this.store.save(event.id, { user_id: userId, body_hash: bodyHash, response, created_at: now }, next);
    await this.store.sync();
    return response;
  }
}

/**
 * The engine's answer with the coupons paused or ended at the edge (overrides.js) held back: an
 * assignment of one is not made (skipped, with the reason PAUSED / ENDED, so no code is given or
 * counted), and a coupon the engine skipped once its trigger fired gets that reason too (the
 * engine checks status first). Activations stay: they are facts about the user, not a giving.
 */
function heldBack(result, overrides) {
  const reason = (id) => overrideReason(overrides[id].status);
  return {
    assigned: result.assigned.filter((a) => !overrides[a.coupon_id]),
    activated: result.activated,
    skipped: [
      ...result.skipped.map((s) => (overrides[s.coupon_id] && s.reason.code !== 'EVENT_CONDITION_FAILED'
        ? { coupon_id: s.coupon_id, reason: reason(s.coupon_id) } : s)),
      ...result.assigned.filter((a) => overrides[a.coupon_id]).map((a) => ({ coupon_id: a.coupon_id, reason: reason(a.coupon_id) })),
    ],
  };
}

/**
 * The log after `event`: the event added (pinned when it activated a coupon) and trimmed to its
 * caps; each assignment it made replaces the user's earlier event assignment of that coupon; each
 * activation it reported is kept unless the coupon was activated earlier. `added`, `dropped`,
 * `assigned` and `activated` say what changed, for stores that write rows.
 */
function nextState(state, event, activated, assigned) {
  const pinned = new Set(state.pinned);
  if (activated.length) pinned.add(event.id);
  // An id sent again after its replay record expired: the new event replaces the old entry.
  const { events, dropped } = trim([...state.events.filter((e) => e.id !== event.id), event], pinned);
  for (const id of dropped) pinned.delete(id);
  const byCoupon = new Map(state.assignments.map((a) => [a.coupon_id, a]));
  for (const a of assigned) byCoupon.set(a.coupon_id, a);
  const { activations, changed } = mergeActivations(state.activations ?? [], activated);
  return { events, pinned, assignments: [...byCoupon.values()], activations, added: event, dropped, assigned, activated: changed };
}
