// CouponCounter: the one authority on a coupon's counters (one object per coupon, idFromName(id)).
// It re-runs the engine on the exact request the edge priced, with ITS counters for its coupon,
// and commits only when the coupon still applies with the same discount. The check and the write
// are one synchronous block (SQLite calls are synchronous), so no other request can interleave.
import { DurableObject } from 'cloudflare:workers';
import { byVersion } from './manifest-store.js';
import { recheck } from './recheck.js';
import { addMoney } from './money.js';
import { UNKNOWN_CODE } from './pricing.js';
import { usedKey } from './codes.js';
import { counted, GROUP, usageEntry, usageKey, userUsageKey } from './usage.js';
import { aggregate } from './stats.js';

const FLUSH_INTERVAL_MS = 1000; // KV allows one write per second per key
const ACTIVE = new Set(['reserved', 'redeemed']);
const SCHEMA = `
CREATE TABLE IF NOT EXISTS totals (id INTEGER PRIMARY KEY CHECK (id = 1), coupon_id TEXT, redemptions INTEGER NOT NULL, discount_given TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (user_id TEXT PRIMARY KEY, uses INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS periods (label TEXT PRIMARY KEY, uses INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS user_periods (user_id TEXT NOT NULL, label TEXT NOT NULL, uses INTEGER NOT NULL, PRIMARY KEY (user_id, label));
CREATE TABLE IF NOT EXISTS redemptions (id TEXT PRIMARY KEY, user_id TEXT, order_id TEXT, code_hash TEXT,
  discount TEXT NOT NULL, gmv TEXT NOT NULL, day TEXT NOT NULL, labels TEXT NOT NULL, state TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS used_codes (hash TEXT PRIMARY KEY, redemption_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stats (day TEXT PRIMARY KEY, redemptions INTEGER NOT NULL DEFAULT 0, rollbacks INTEGER NOT NULL DEFAULT 0,
  discount TEXT NOT NULL DEFAULT '0', gmv TEXT NOT NULL DEFAULT '0', distributed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS redeemers (day TEXT NOT NULL, user_id TEXT NOT NULL, uses INTEGER NOT NULL, PRIMARY KEY (day, user_id));
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, value TEXT);
CREATE TABLE IF NOT EXISTS dirty_users (user_id TEXT PRIMARY KEY, v INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pool (seq INTEGER PRIMARY KEY AUTOINCREMENT, code TEXT NOT NULL UNIQUE, given INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS handouts (key TEXT PRIMARY KEY, code TEXT, day TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS uploads (batch TEXT PRIMARY KEY, kind TEXT NOT NULL, at TEXT NOT NULL, requests INTEGER NOT NULL,
  imported INTEGER NOT NULL, refused INTEGER NOT NULL, pooled INTEGER NOT NULL);
`;

export class CouponCounter extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
    // Cashback points per redemption and day (added after the first release: existing objects get
    // the columns here, once; a column already there is the only error this can raise).
    for (const table of ['redemptions', 'stats']) {
      if (!this.sql.exec(`PRAGMA table_info(${table})`).toArray().some((c) => c.name === 'cashback')) {
        this.sql.exec(`ALTER TABLE ${table} ADD COLUMN cashback INTEGER NOT NULL DEFAULT 0`);
      }
    }
  }

  one(query, ...args) {
    return this.sql.exec(query, ...args).toArray()[0];
  }

  totals() {
    return this.one('SELECT coupon_id, redemptions, discount_given FROM totals WHERE id = 1')
      ?? { coupon_id: null, redemptions: 0, discount_given: '0' };
  }

  /** Counters as they are now (for tests, the usage copy and admin). */
  counters(userId) {
    const t = this.totals();
    const periods = Object.fromEntries(this.sql.exec('SELECT label, uses FROM periods WHERE uses > 0').toArray().map((r) => [r.label, r.uses]));
    if (!userId) return { redemptions: t.redemptions, discount_given: t.discount_given, periods };
    return { redemptions: t.redemptions, discount_given: t.discount_given, periods, ...this.userCounters(userId) };
  }

  userCounters(userId) {
    const uses = this.one('SELECT uses FROM users WHERE user_id = ?', userId)?.uses ?? 0;
    const rows = this.sql.exec('SELECT label, uses FROM user_periods WHERE user_id = ? AND uses > 0', userId).toArray();
    return { user_redemptions: uses, user_periods: Object.fromEntries(rows.map((r) => [r.label, r.uses])) };
  }

  /**
   * Commits one use for redemption `a.redemption_id`, or refuses with the engine's reason.
   * Idempotent: a redemption already holding a use here answers ok again.
   */
  async commit(a) {
    const loaded = await byVersion(this.env, a.version); // the only await: before the decision
    const existing = this.one('SELECT state FROM redemptions WHERE id = ?', a.redemption_id);
    if (existing && ACTIVE.has(existing.state)) return { ok: true };

    // A limit group's counter (`a.group`) counts the uses of every coupon of the group; the
    // coupon's own counter still counts the coupon's (docs/worker.md, limit groups).
    const key = a.group ? `${GROUP}${a.group}` : a.coupon_id;
    const coupon = counted(loaded, key);
    if (a.code_hash) {
      const used = this.one('SELECT redemption_id FROM used_codes WHERE hash = ?', a.code_hash);
      if (used && used.redemption_id !== a.redemption_id) {
        return { ok: false, rejected: { code: a.code, reason: { ...UNKNOWN_CODE } } };
      }
    }
    const t = this.totals();
    const labels = a.periods ? Object.values(a.periods) : [];
    const periods = Object.fromEntries(labels.map((l) => [l, this.one('SELECT uses FROM periods WHERE label = ?', l)?.uses ?? 0]));
    const mine = a.user_id ? this.userCounters(a.user_id) : null;
    const own = usageEntry(coupon, { ...t, periods }, mine?.user_redemptions ?? null, mine?.user_periods);
    const decision = recheck(loaded, a, own);
    if (decision.rejected) return { ok: false, rejected: decision.rejected };
    const { applied } = decision;
    const cashback = applied.cashback_points ?? 0;

    const now = a.now;
    const state = a.held ? 'reserved' : 'redeemed';
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(
        `INSERT INTO totals (id, coupon_id, redemptions, discount_given) VALUES (1, ?, 1, ?)
         ON CONFLICT (id) DO UPDATE SET redemptions = redemptions + 1, discount_given = ?`,
        key, applied.discount, addMoney(t.discount_given, applied.discount));
      if (a.user_id) this.bump('users', 'user_id', a.user_id, 1);
      for (const l of labels) this.bump('periods', 'label', l, 1);
      if (a.user_id) for (const l of labels) this.bumpUserPeriod(a.user_id, l, 1);
      this.sql.exec(
        `INSERT INTO redemptions (id, user_id, order_id, code_hash, discount, gmv, cashback, day, labels, state, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, discount = excluded.discount, gmv = excluded.gmv, cashback = excluded.cashback,
           day = excluded.day, labels = excluded.labels, code_hash = excluded.code_hash, updated_at = excluded.updated_at`,
        a.redemption_id, a.user_id ?? null, a.order_id, a.code_hash ?? null, applied.discount, a.gmv, cashback, a.day,
        JSON.stringify(labels), state, now, now);
      if (a.code_hash) this.sql.exec('INSERT OR REPLACE INTO used_codes (hash, redemption_id) VALUES (?, ?)', a.code_hash, a.redemption_id);
      this.stat(a.day, applied.discount, a.gmv, 1, 0, null, cashback);
      if (a.user_id) {
        this.sql.exec(`INSERT INTO redeemers (day, user_id, uses) VALUES (?, ?, 1)
          ON CONFLICT (day, user_id) DO UPDATE SET uses = uses + 1`, a.day, a.user_id);
      }
      this.ledger(now, a.redemption_id, a.held ? 'reserve' : 'redeem', {
        coupon_id: key, ...(a.group ? { redeemed_coupon_id: a.coupon_id } : {}), user_id: a.user_id ?? null, order_id: a.order_id, discount: applied.discount, gmv: a.gmv,
        code_hash: a.code_hash ?? null, periods: a.periods ?? null, manifest_version: a.version,
      });
      if (a.code_hash) this.outbox(usedKey(a.coupon_id, a.code_hash), a.redemption_id);
      if (a.user_id) this.dirty(a.user_id);
    });
    await this.scheduleFlush();
    return { ok: true };
  }

  /**
   * Gives a use back exactly once. kind: "revert" and "lapse" count as rollbacks in the stats;
   * "abort" (a redemption refused by another coupon's counter) undoes the commit as if it never was.
   */
  async release({ redemption_id, kind, now }) {
    const r = this.one('SELECT * FROM redemptions WHERE id = ?', redemption_id);
    if (!r || !ACTIVE.has(r.state)) return { ok: true, changed: false };
    const t = this.totals();
    this.ctx.storage.transactionSync(() => {
      this.sql.exec('UPDATE totals SET redemptions = redemptions - 1, discount_given = ? WHERE id = 1', addMoney(t.discount_given, r.discount, -1));
      if (r.user_id) this.bump('users', 'user_id', r.user_id, -1);
      for (const l of JSON.parse(r.labels)) {
        this.bump('periods', 'label', l, -1);
        if (r.user_id) this.bumpUserPeriod(r.user_id, l, -1);
      }
      const next = { revert: 'reverted', lapse: 'lapsed', abort: 'aborted' }[kind];
      this.sql.exec('UPDATE redemptions SET state = ?, updated_at = ? WHERE id = ?', next, now, redemption_id);
      if (r.code_hash) {
        this.sql.exec('DELETE FROM used_codes WHERE hash = ? AND redemption_id = ?', r.code_hash, redemption_id);
        this.outbox(usedKey(this.totals().coupon_id, r.code_hash), null);
      }
      // What was given back no longer counts as given in the period it was committed.
      this.stat(r.day, r.discount, r.gmv, -1, kind === 'abort' ? 0 : 1, kind === 'abort' ? 0 : now.slice(0, 10), r.cashback ?? 0);
      if (r.user_id) {
        this.sql.exec('UPDATE redeemers SET uses = uses - 1 WHERE day = ? AND user_id = ?', r.day, r.user_id);
        this.sql.exec('DELETE FROM redeemers WHERE uses <= 0');
        this.dirty(r.user_id);
      }
      this.ledger(now, redemption_id, kind, { coupon_id: this.totals().coupon_id, user_id: r.user_id, discount: r.discount });
    });
    await this.scheduleFlush();
    return { ok: true, changed: true };
  }

  /** A held use becomes a redemption (the redemption's own object decides when that is allowed). */
  async confirm({ redemption_id, now }) {
    const r = this.one('SELECT state FROM redemptions WHERE id = ?', redemption_id);
    if (r?.state !== 'reserved') return { ok: true, changed: false };
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("UPDATE redemptions SET state = 'redeemed', updated_at = ? WHERE id = ?", now, redemption_id);
      this.ledger(now, redemption_id, 'confirm', { coupon_id: this.totals().coupon_id });
    });
    await this.scheduleFlush();
    return { ok: true, changed: true };
  }

  /** Codes (assignments) handed out on `day`, for the stats. */
  distributed({ day, count }) {
    this.sql.exec(`INSERT INTO stats (day, distributed) VALUES (?, ?) ON CONFLICT (day) DO UPDATE SET distributed = distributed + ?`, day, count, count);
    return { ok: true };
  }

  /** Adds normalised bulk codes to the pool; a code already in it (given or not) is left as it is. */
  addToPool({ codes }) {
    const size = () => this.one('SELECT COUNT(*) AS n FROM pool').n;
    const before = size();
    this.ctx.storage.transactionSync(() => {
      for (const code of codes) this.sql.exec('INSERT OR IGNORE INTO pool (code) VALUES (?)', code);
    });
    return { added: size() - before, ...this.pool() };
  }

  /**
   * One request of a code upload (or a generation): `batch` groups the requests of one file sent in
   * chunks, so the console lists uploads, not chunks. Counts add up; the first request's time stays.
   */
  recordUpload({ batch, kind, at, imported, refused, pooled }) {
    this.sql.exec(
      `INSERT INTO uploads (batch, kind, at, requests, imported, refused, pooled) VALUES (?, ?, ?, 1, ?, ?, ?)
       ON CONFLICT (batch) DO UPDATE SET requests = requests + 1, imported = imported + excluded.imported,
         refused = refused + excluded.refused, pooled = pooled + excluded.pooled`,
      batch, kind, at, imported, refused, pooled,
    );
    // Only the newest uploads matter to a person; the table stays small.
    this.sql.exec('DELETE FROM uploads WHERE batch NOT IN (SELECT batch FROM uploads ORDER BY at DESC LIMIT 100)');
    return { ok: true };
  }

  /** The newest uploads first: { batch, kind, at, requests, imported, refused, pooled }. */
  uploads({ limit = 20 } = {}) {
    return this.sql.exec('SELECT batch, kind, at, requests, imported, refused, pooled FROM uploads ORDER BY at DESC LIMIT ?', limit).toArray();
  }

  pool() {
    const r = this.one('SELECT COUNT(*) - COALESCE(SUM(given), 0) AS available, COALESCE(SUM(given), 0) AS given FROM pool');
    return { available: r.available, given: r.given };
  }

  /**
   * One assignment made by an event (`key`: user and event id), counted once in `distributed` on
   * `day`; with `bulk`, the pool's oldest code not yet given goes with it. Asked again with the same
   * key, it answers the same code and changes nothing (the event's retry after a crash). The read
   * and the write are one synchronous block: two users never get the same code. An empty pool
   * answers `{ code: null, empty: true }` and records nothing.
   */
  handOut({ key, day, bulk, now }) {
    const done = this.one('SELECT code FROM handouts WHERE key = ?', key);
    if (done) return { code: done.code };
    const row = bulk ? this.one('SELECT seq, code FROM pool WHERE given = 0 ORDER BY seq LIMIT 1') : null;
    if (bulk && !row) return { code: null, empty: true };
    this.ctx.storage.transactionSync(() => {
      if (row) this.sql.exec('UPDATE pool SET given = 1 WHERE seq = ?', row.seq);
      this.sql.exec('INSERT INTO handouts (key, code, day, at) VALUES (?, ?, ?, ?)', key, row?.code ?? null, day, now);
      this.distributed({ day, count: 1 });
    });
    return { code: row?.code ?? null };
  }

  stats(query) {
    const days = this.sql.exec('SELECT * FROM stats WHERE day >= ? AND day <= ? ORDER BY day', query.from, query.to).toArray();
    const users = this.sql.exec('SELECT day, user_id FROM redeemers WHERE day >= ? AND day <= ?', query.from, query.to).toArray();
    return aggregate(days, users, query);
  }

  bump(table, column, key, delta) {
    this.sql.exec(`INSERT INTO ${table} (${column}, uses) VALUES (?, ?) ON CONFLICT (${column}) DO UPDATE SET uses = uses + ?`, key, Math.max(delta, 0), delta);
  }

  bumpUserPeriod(userId, label, delta) {
    this.sql.exec(`INSERT INTO user_periods (user_id, label, uses) VALUES (?, ?, ?)
      ON CONFLICT (user_id, label) DO UPDATE SET uses = uses + ?`, userId, label, Math.max(delta, 0), delta);
  }

  /** Stats of the day a use was committed (`day`); rollbacks count on the day they happen. */
  stat(day, discount, gmv, sign, rollbacks = 0, rollbackDay = null, cashback = 0) {
    const row = this.one('SELECT discount, gmv FROM stats WHERE day = ?', day) ?? { discount: '0', gmv: '0' };
    this.sql.exec(`INSERT INTO stats (day, redemptions, discount, gmv, cashback) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (day) DO UPDATE SET redemptions = redemptions + ?, discount = excluded.discount, gmv = excluded.gmv, cashback = cashback + ?`,
      day, Math.max(sign, 0), addMoney(row.discount, discount, sign), addMoney(row.gmv, gmv, sign), Math.max(sign, 0) * cashback,
      sign, sign * cashback);
    if (rollbacks) {
      this.sql.exec('INSERT INTO stats (day, rollbacks) VALUES (?, 1) ON CONFLICT (day) DO UPDATE SET rollbacks = rollbacks + 1', rollbackDay);
    }
  }

  /** One ledger event: a KV key written once, queued in the same transaction as the change. */
  ledger(now, redemptionId, kind, event) {
    const coupon = event.coupon_id;
    const ts = new Date().toISOString(); // milliseconds: keys sort by when the event was recorded
    this.outbox(`ledger:${coupon}:${ts}:${redemptionId}:${kind}`, JSON.stringify({ kind, redemption_id: redemptionId, at: now, ...event }));
  }

  /** A user whose KV usage copy is behind; `v` changes on each change so a flush in progress can tell. */
  dirty(userId) {
    this.sql.exec('INSERT INTO dirty_users (user_id, v) VALUES (?, 1) ON CONFLICT (user_id) DO UPDATE SET v = v + 1', userId);
  }

  outbox(key, value) {
    this.sql.exec('INSERT INTO outbox (key, value) VALUES (?, ?)', key, value);
  }

  async scheduleFlush() {
    if (this.flushScheduled) return; // one storage read per flush, not per commit
    this.flushScheduled = true;
    if ((await this.ctx.storage.getAlarm()) !== null) return;
    const last = Number(this.one("SELECT value FROM meta WHERE key = 'last_flush'")?.value ?? 0);
    await this.ctx.storage.setAlarm(Math.max(Date.now(), last + FLUSH_INTERVAL_MS));
  }

  /** Copies the ledger, used-code markers and usage snapshots to KV; retried until it succeeds. */
  async alarm() {
    this.flushScheduled = false;
    const t = this.totals();
    if (!t.coupon_id) return;
    const events = this.sql.exec('SELECT seq, key, value FROM outbox ORDER BY seq LIMIT 400').toArray();
    const users = this.sql.exec('SELECT user_id, v FROM dirty_users LIMIT 400').toArray();
    const writes = events.map((e) => (e.value === null ? this.env.STATE.delete(e.key) : this.env.STATE.put(e.key, e.value)));
    const snapshot = { ...this.counters(), as_of: new Date().toISOString() };
    writes.push(this.env.STATE.put(usageKey(t.coupon_id), JSON.stringify(snapshot)));
    for (const u of users) {
      const { user_redemptions: redemptions, user_periods: periods } = this.userCounters(u.user_id);
      writes.push(this.env.STATE.put(userUsageKey(t.coupon_id, u.user_id), JSON.stringify({ redemptions, periods })));
    }
    await Promise.all(writes); // a failure throws: the alarm is retried, rows stay queued
    this.ctx.storage.transactionSync(() => {
      if (events.length) this.sql.exec('DELETE FROM outbox WHERE seq <= ?', events[events.length - 1].seq);
      for (const u of users) this.sql.exec('DELETE FROM dirty_users WHERE user_id = ? AND v = ?', u.user_id, u.v);
      this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('last_flush', ?)", String(Date.now()));
    });
    const more = this.one('SELECT (SELECT COUNT(*) FROM outbox) + (SELECT COUNT(*) FROM dirty_users) AS n').n;
    if (more) await this.ctx.storage.setAlarm(Date.now() + FLUSH_INTERVAL_MS);
  }
}
