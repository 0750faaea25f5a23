// COUNTER_MODE=kv: for deployments without Durable Objects. Counters live in the same KV keys the
// Durable Objects copy to (usage:<coupon>, usage:<coupon>:u:<user>) and are read, checked and
// written back without any lock: KV has no atomic update. Limits are a soft cap; docs/worker.md
// states the overshoot. Holds need an alarm and are refused in this mode.
import { byVersion } from './manifest-store.js';
import { addMoney } from './money.js';
import { recheck } from './recheck.js';
import { UNKNOWN_CODE } from './pricing.js';
import { usedKey } from './codes.js';
import { counted, usageEntry, usageKey, userUsageKey } from './usage.js';
import { aggregate } from './stats.js';
import { copyOf, REPLAY_DAYS, writeCopy } from './event-log.js';

const ACTIVE = new Set(['reserved', 'redeemed']);
const enc = encodeURIComponent; // user and event ids in keys (they may hold ':' or a newline)

export class KvCounter {
  constructor(env, couponId) {
    this.env = env;
    this.kv = env.STATE;
    this.id = couponId;
  }

  recordKey(redemptionId) {
    return `kvredemption:${this.id}:${redemptionId}`;
  }

  async totals() {
    return (await this.kv.get(usageKey(this.id), 'json')) ?? { redemptions: 0, discount_given: '0', periods: {} };
  }

  async counters(userId) {
    const t = await this.totals();
    const mine = userId ? Number((await this.kv.get(userUsageKey(this.id, userId))) ?? 0) : undefined;
    return { redemptions: t.redemptions, discount_given: t.discount_given, periods: t.periods ?? {}, ...(userId ? { user_redemptions: mine } : {}) };
  }

  async commit(a) {
    const existing = await this.kv.get(this.recordKey(a.redemption_id), 'json');
    if (existing && ACTIVE.has(existing.state)) return { ok: true };
    if (a.code_hash && (await this.kv.get(usedKey(this.id, a.code_hash))) !== null) {
      return { ok: false, rejected: { code: a.code, reason: { ...UNKNOWN_CODE } } };
    }
    const loaded = await byVersion(this.env, a.version);
    const t = await this.totals();
    const mine = a.user_id ? Number((await this.kv.get(userUsageKey(this.id, a.user_id))) ?? 0) : null;
    const decision = recheck(loaded, a, usageEntry(counted(loaded, this.id), t, mine));
    if (decision.rejected) return { ok: false, rejected: decision.rejected };
    const discount = decision.applied.discount;
    const cashback = decision.applied.cashback_points ?? 0;
    const labels = a.periods ? Object.values(a.periods) : [];
    await this.write(t, a.user_id, mine, labels, discount, 1);
    await this.kv.put(this.recordKey(a.redemption_id), JSON.stringify({
      state: a.held ? 'reserved' : 'redeemed', user_id: a.user_id, code_hash: a.code_hash, discount, gmv: a.gmv, cashback, day: a.day, labels,
    }));
    if (a.code_hash) await this.kv.put(usedKey(this.id, a.code_hash), a.redemption_id);
    await this.stat(a.day, { redemptions: 1, discount, gmv: a.gmv, cashback, user: a.user_id });
    await this.ledger(a.redemption_id, 'redeem', { user_id: a.user_id, order_id: a.order_id, discount });
    return { ok: true };
  }

  async release({ redemption_id, kind }) {
    const r = await this.kv.get(this.recordKey(redemption_id), 'json');
    if (!r || !ACTIVE.has(r.state)) return { ok: true, changed: false };
    await this.kv.put(this.recordKey(redemption_id), JSON.stringify({ ...r, state: kind }));
    const mine = r.user_id ? Number((await this.kv.get(userUsageKey(this.id, r.user_id))) ?? 0) : null;
    await this.write(await this.totals(), r.user_id, mine, r.labels, r.discount, -1);
    if (r.code_hash) await this.kv.delete(usedKey(this.id, r.code_hash));
    await this.stat(r.day, { redemptions: -1, discount: `-${r.discount}`, gmv: `-${r.gmv}`, cashback: -(r.cashback ?? 0), rollbacks: kind === 'abort' ? 0 : 1 });
    await this.ledger(redemption_id, kind, { user_id: r.user_id, discount: r.discount });
    return { ok: true, changed: true };
  }

  async confirm({ redemption_id }) {
    const r = await this.kv.get(this.recordKey(redemption_id), 'json');
    if (r?.state === 'reserved') await this.kv.put(this.recordKey(redemption_id), JSON.stringify({ ...r, state: 'redeemed' }));
    return { ok: true };
  }

  async write(t, userId, mine, labels, discount, sign) {
    const periods = { ...(t.periods ?? {}) };
    for (const l of labels) periods[l] = (periods[l] ?? 0) + sign;
    const next = { redemptions: t.redemptions + sign, discount_given: addMoney(t.discount_given, discount, sign), periods, as_of: new Date().toISOString() };
    await this.kv.put(usageKey(this.id), JSON.stringify(next));
    if (userId) await this.kv.put(userUsageKey(this.id, userId), String(mine + sign));
  }

  async stat(day, d) {
    const key = `kvstats:${this.id}:${day}`;
    const s = (await this.kv.get(key, 'json')) ?? { day, redemptions: 0, rollbacks: 0, discount: '0', gmv: '0', distributed: 0, users: [] };
    s.redemptions += d.redemptions ?? 0;
    s.rollbacks += d.rollbacks ?? 0;
    s.distributed += d.distributed ?? 0;
    s.cashback = (s.cashback ?? 0) + (d.cashback ?? 0);
    if (d.discount) s.discount = addMoney(s.discount, d.discount.replace(/^-/, ''), d.discount.startsWith('-') ? -1 : 1);
    if (d.gmv) s.gmv = addMoney(s.gmv, d.gmv.replace(/^-/, ''), d.gmv.startsWith('-') ? -1 : 1);
    if (d.user && !s.users.includes(d.user)) s.users.push(d.user);
    await this.kv.put(key, JSON.stringify(s));
  }

  async distributed({ day, count }) {
    await this.stat(day, { distributed: count });
    return { ok: true };
  }

  // No code pools in this mode: handing out each code once needs one serial owner of the pool,
  // which KV cannot be (two events reading the same "next code" would both give it). Uploads with
  // ?pool=true are refused (POOL_UNSUPPORTED) and a bulk coupon's pool is always empty here.
  pool() {
    return { available: 0, given: 0 };
  }

  // No upload history in kv mode (the console lists none); the codes themselves are stored as usual.
  recordUpload() {
    return { ok: true };
  }

  uploads() {
    return [];
  }

  /** An event's assignment counted once per key (best effort: a concurrent duplicate counts twice). */
  async handOut({ key, day, bulk, now }) {
    if (bulk) return { code: null, empty: true };
    const marker = `kvhandout:${this.id}:${enc(key)}`; // key: user id, a newline, event id
    if ((await this.kv.get(marker)) !== null) return { code: null };
    await this.kv.put(marker, now);
    await this.stat(day, { distributed: 1 });
    return { code: null };
  }

  async stats(query) {
    const days = [];
    let cursor;
    do {
      const page = await this.kv.list({ prefix: `kvstats:${this.id}:`, cursor });
      for (const k of page.keys) {
        const day = k.name.split(':').pop();
        if (day >= query.from && day <= query.to) days.push(await this.kv.get(k.name, 'json'));
      }
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    const users = days.flatMap((d) => d.users.map((u) => ({ day: d.day, user_id: u })));
    return aggregate(days, users, query);
  }

  async ledger(redemptionId, kind, event) {
    const ts = new Date().toISOString();
    await this.kv.put(`ledger:${this.id}:${ts}:${redemptionId}:${kind}`,
      JSON.stringify({ kind, redemption_id: redemptionId, at: ts, coupon_id: this.id, ...event }));
  }
}

/** The redemption record in KV (no Durable Object to serialise duplicates: see docs/worker.md). */
export const kvRedemptionStore = (env, id) => ({
  get: () => env.STATE.get(`redemption:${id}`, 'json'),
  put: (rec) => env.STATE.put(`redemption:${id}`, JSON.stringify(rec)),
  delete: () => env.STATE.delete(`redemption:${id}`),
});

const REPLAY_TTL_S = REPLAY_DAYS * 86400; // as the UserLog Durable Object

/**
 * The user's event log and answers per event id in KV, for the EventFlow (no Durable Object to
 * serialise a user's events: two events of one user at once may both decide on the same "before",
 * and the later write of the log wins; see docs/worker.md).
 */
export const kvEventStore = (env, userId) => ({
  seen: (id) => env.STATE.get(`kvevent:${enc(userId)}:${enc(id)}`, 'json'),
  state: async () => {
    const s = (await env.STATE.get(`kvuserlog:${enc(userId)}`, 'json')) ?? { events: [], pinned: [], assignments: [] };
    return { ...s, pinned: new Set(s.pinned), activations: s.activations ?? [] };
  },
  save: async (id, rec, next) => {
    await env.STATE.put(`kvuserlog:${enc(userId)}`, JSON.stringify({
      events: next.events, pinned: [...next.pinned], assignments: next.assignments, activations: next.activations,
    }));
    await env.STATE.put(`kvevent:${enc(userId)}:${enc(id)}`, JSON.stringify(rec), { expirationTtl: REPLAY_TTL_S });
  },
  // Written each time, without the Durable Object's one-write-a-second pacing (best effort here).
  async sync() {
    await writeCopy(env, userId, copyOf(await this.state()));
  },
});
