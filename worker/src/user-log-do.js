// UserLog: one Durable Object per user (idFromName(user id)) for POST /events. It runs the user's
// events one at a time (event-flow.js), so two events never decide on the same "before", and keeps
// in SQLite: the answer per event id (replays, for REPLAY_DAYS), the user's event log (capped:
// event-log.js), the assignments events made and the activations they reported. Each event's rows
// are written in one transaction, with an alarm that brings the KV copy the user context reads up
// to them.
import { DurableObject } from 'cloudflare:workers';
import { EventFlow } from './event-flow.js';
import { copyOf, REPLAY_DAYS, writeCopy } from './event-log.js';
import { rfc3339 } from './http.js';
import { serial } from './serial.js';

const COPY_INTERVAL_MS = 1000; // KV takes one write per key per second
const SCHEMA = `
CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, body_hash TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS seen_created ON seen (created_at);
CREATE TABLE IF NOT EXISTS log (id TEXT PRIMARY KEY, event TEXT NOT NULL, pinned INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS assigned (coupon_id TEXT PRIMARY KEY, assignment TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS activations (coupon_id TEXT PRIMARY KEY, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

export class UserLog extends DurableObject {
  #serial = serial(); // every operation on this object, one at a time (serial.js)

  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
    const store = {
      seen: (id) => this.seen(id),
      state: () => this.state(),
      save: (id, rec, next) => this.save(id, rec, next),
      sync: () => this.sync(),
    };
    this.flow = new EventFlow({ env, store, counter: (c) => env.COUPON_COUNTER.get(env.COUPON_COUNTER.idFromName(c)) });
  }

  ingest(input) {
    return this.#serial(() => this.flow.ingest(input));
  }

  alarm() {
    return this.#serial(() => this.sync());
  }

  one(query, ...args) {
    return this.sql.exec(query, ...args).toArray()[0];
  }

  meta(key, fallback) {
    return this.one('SELECT value FROM meta WHERE key = ?', key)?.value ?? fallback;
  }

  setMeta(key, value) {
    this.sql.exec('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)', key, String(value));
  }

  seen(id) {
    const r = this.one('SELECT body_hash, status, body FROM seen WHERE id = ?', id);
    return r ? { body_hash: r.body_hash, response: { status: r.status, body: r.body } } : null;
  }

  state() {
    const rows = this.sql.exec('SELECT id, event, pinned FROM log').toArray();
    return {
      events: rows.map((r) => JSON.parse(r.event)).sort((a, b) => Date.parse(a.at) - Date.parse(b.at)),
      pinned: new Set(rows.filter((r) => r.pinned).map((r) => r.id)),
      assignments: this.sql.exec('SELECT assignment FROM assigned').toArray().map((r) => JSON.parse(r.assignment)),
      activations: this.sql.exec('SELECT coupon_id, at FROM activations').toArray().map((r) => ({ coupon_id: r.coupon_id, at: r.at })),
    };
  }

  /**
   * The event's answer, the log's change, the assignments and the activations, in one transaction,
   * and an alarm: should the object stop before `sync` writes the KV copy, the alarm writes it (no
   * retry of the event needed). The alarm is set right after the transaction, with nothing awaited
   * between them, so storage commits the two together (write coalescing).
   */
  async save(id, rec, next) {
    const alarm = await this.ctx.storage.getAlarm();
    this.ctx.storage.transactionSync(() => {
      this.sql.exec('INSERT INTO seen (id, body_hash, status, body, created_at) VALUES (?, ?, ?, ?, ?)',
        id, rec.body_hash, rec.response.status, rec.response.body, rec.created_at);
      this.sql.exec('DELETE FROM seen WHERE created_at < ?', rfc3339(Date.parse(rec.created_at) - REPLAY_DAYS * 86400e3));
      const { added } = next;
      if (!next.dropped.includes(added.id)) {
        this.sql.exec('INSERT OR REPLACE INTO log (id, event, pinned) VALUES (?, ?, ?)', added.id, JSON.stringify(added), next.pinned.has(added.id) ? 1 : 0);
      }
      for (const d of next.dropped) this.sql.exec('DELETE FROM log WHERE id = ?', d);
      for (const a of next.assigned) this.sql.exec('INSERT OR REPLACE INTO assigned (coupon_id, assignment) VALUES (?, ?)', a.coupon_id, JSON.stringify(a));
      // Only activations earlier than the one held (or the first of a coupon): nextState chose them.
      for (const a of next.activated) this.sql.exec('INSERT OR REPLACE INTO activations (coupon_id, at) VALUES (?, ?)', a.coupon_id, a.at);
      this.setMeta('user_id', rec.user_id); // for the alarm, which has no request to read it from
      this.setMeta('version', Number(this.meta('version', 0)) + 1);
    });
    if (alarm === null) await this.ctx.storage.setAlarm(Date.now() + COPY_INTERVAL_MS);
  }

  /**
   * Brings the KV copy up to the stored state: at once, or (when the last write was less than a
   * second ago, or failed) by the alarm a second after it. Events of one user sent faster than
   * that reach the copy within a second; the next event's decision reads SQLite, never the copy.
   */
  async sync() {
    const version = Number(this.meta('version', 0));
    if (Number(this.meta('copied', 0)) >= version) return;
    const due = Number(this.meta('copied_at', 0)) + COPY_INTERVAL_MS;
    if (due <= Date.now()) {
      this.setMeta('copied_at', Date.now());
      try {
        await writeCopy(this.env, this.meta('user_id'), copyOf(this.state()));
        this.setMeta('copied', version);
        return;
      } catch (err) {
        console.error('KV copy of the event log failed; retrying', err); // the event itself is stored
      }
    }
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Math.max(due, Date.now() + COPY_INTERVAL_MS));
  }
}
