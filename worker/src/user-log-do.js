// UserLog: one Durable Object per user (idFromName(user id)) for POST /events. It runs the user's
// events one at a time (event-flow.js), so two events never decide on the same "before", and keeps
// in SQLite: the answer per event id (replays, for REPLAY_DAYS), the user's event log (capped:
// event-log.js) and the assignments events made. Each event's rows are written in one transaction,
// before the KV copy the user context reads.
import { DurableObject } from 'cloudflare:workers';
import { EventFlow } from './event-flow.js';
import { rfc3339 } from './http.js';

const REPLAY_DAYS = 30; // an event id is recognised this long after it was first sent
const SCHEMA = `
CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, body_hash TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS seen_created ON seen (created_at);
CREATE TABLE IF NOT EXISTS log (id TEXT PRIMARY KEY, event TEXT NOT NULL, pinned INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS assigned (coupon_id TEXT PRIMARY KEY, assignment TEXT NOT NULL);
`;

export class UserLog extends DurableObject {
  #running = null;

  constructor(ctx, env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec(SCHEMA);
    const store = {
      seen: (id) => {
        const r = sql.exec('SELECT body_hash, status, body FROM seen WHERE id = ?', id).toArray()[0];
        return r ? { body_hash: r.body_hash, response: { status: r.status, body: r.body } } : null;
      },
      state: () => {
        const rows = sql.exec('SELECT id, event, pinned FROM log').toArray();
        const events = rows.map((r) => JSON.parse(r.event)).sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
        return {
          events,
          pinned: new Set(rows.filter((r) => r.pinned).map((r) => r.id)),
          assignments: sql.exec('SELECT assignment FROM assigned').toArray().map((r) => JSON.parse(r.assignment)),
        };
      },
      save: (id, rec, next) => ctx.storage.transactionSync(() => {
        sql.exec('INSERT INTO seen (id, body_hash, status, body, created_at) VALUES (?, ?, ?, ?, ?)',
          id, rec.body_hash, rec.response.status, rec.response.body, rec.created_at);
        const expired = rfc3339(Date.parse(rec.created_at) - REPLAY_DAYS * 86400e3);
        sql.exec('DELETE FROM seen WHERE created_at < ?', expired);
        if (!next.dropped.includes(next.added.id)) {
          sql.exec('INSERT OR REPLACE INTO log (id, event, pinned) VALUES (?, ?, ?)', next.added.id, JSON.stringify(next.added), next.pinned.has(next.added.id) ? 1 : 0);
        }
        for (const d of next.dropped) sql.exec('DELETE FROM log WHERE id = ?', d);
        for (const a of next.assigned) sql.exec('INSERT OR REPLACE INTO assigned (coupon_id, assignment) VALUES (?, ?)', a.coupon_id, JSON.stringify(a));
      }),
    };
    this.flow = new EventFlow({ env, store, counter: (c) => env.COUPON_COUNTER.get(env.COUPON_COUNTER.idFromName(c)) });
  }

  /**
   * Serialises the user's events: the next starts when the last has ended. (The flow awaits KV and
   * the counters; without this queue another event of the user would interleave at those awaits.)
   */
  #serial(fn) {
    const run = (this.#running ?? Promise.resolve()).catch(() => {}).then(fn);
    this.#running = run;
    return run;
  }

  ingest(input) {
    return this.#serial(() => this.flow.ingest(input));
  }
}
