// POST /events: a user event from the shop's backend (cart abandoned, purchase, app installed),
// with `Authorization: Bearer <INGEST_TOKEN>` (or the ADMIN_TOKEN). The request is checked here;
// the user's UserLog Durable Object runs it through the engine and stores what it decided
// (event-flow.js). docs/worker.md, "Events".
import { ApiError, rawJson, readJsonObject, requireBearer, rfc3339, sha256Hex } from './http.js';
import { checkUserId } from './profiles.js';
import { userLogOf } from './counters.js';
import { forgetCopy } from './event-log.js';

const MAX_EVENT_BYTES = 64 * 1024;
// Clocks differ a little between the shop and the edge; an event further ahead is a bug upstream
// (it would sit in the log, activating nothing, until its time).
const MAX_AHEAD_MS = 5 * 60e3;
const FIELDS = ['id', 'user_id', 'name', 'at', 'properties'];
const EVENT_ID = /^[\x21-\x7e]{1,128}$/;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i;

/** 401 without a valid token; 503 when the Worker has neither secret (fail closed). */
async function requireIngest(request, env) {
  const tokens = [env.INGEST_TOKEN, env.ADMIN_TOKEN].filter(Boolean);
  if (!tokens.length) {
    throw new ApiError(503, 'INGEST_DISABLED', 'the Worker has neither an INGEST_TOKEN nor an ADMIN_TOKEN secret; POST /events is off');
  }
  await requireBearer(request, tokens, 'POST /events needs Authorization: Bearer <INGEST_TOKEN> (or the ADMIN_TOKEN)');
}

const bad = (path, message) => new ApiError(400, 'INVALID_REQUEST', message, { path });

/**
 * The event's shape and time; the engine checks the rest (the name's length, property values)
 * when it reads the event. `at` defaults to the edge's clock.
 */
export function parseEvent(body, nowMs) {
  for (const key of Object.keys(body)) {
    if (!FIELDS.includes(key)) throw bad(key, `unknown field ${key}: an event has ${FIELDS.join(', ')}`);
  }
  if (typeof body.id !== 'string' || !EVENT_ID.test(body.id)) throw bad('id', 'id is 1-128 visible ASCII characters, unique per user');
  checkUserId(body.user_id);
  if (typeof body.name !== 'string' || !body.name) throw bad('name', 'name is a non-empty string');
  let at = rfc3339(nowMs);
  if (body.at !== undefined) {
    const ms = typeof body.at === 'string' && RFC3339.test(body.at) ? Date.parse(body.at) : NaN;
    if (Number.isNaN(ms)) throw new ApiError(400, 'INVALID_TIME', 'at is an RFC 3339 time, such as "2026-11-24T10:00:00Z"', { path: 'at' });
    if (ms > nowMs + MAX_AHEAD_MS) {
      throw new ApiError(400, 'EVENT_IN_FUTURE', `at is more than ${MAX_AHEAD_MS / 60e3} minutes ahead of the edge's clock (${rfc3339(nowMs)})`, { path: 'at' });
    }
    at = body.at;
  }
  const { properties } = body;
  if (properties !== undefined && (properties === null || typeof properties !== 'object' || Array.isArray(properties))) {
    throw bad('properties', 'properties is a JSON object');
  }
  return { id: body.id, name: body.name, at, ...(properties !== undefined ? { properties } : {}) };
}

export async function postEvent(request, env) {
  await requireIngest(request, env);
  const { text, value } = await readJsonObject(request, MAX_EVENT_BYTES);
  const nowMs = Date.now();
  const event = parseEvent(value, nowMs);
  const userId = value.user_id;
  const res = await userLogOf(env, userId).ingest({ user_id: userId, event, body_hash: await sha256Hex(text), now: rfc3339(nowMs) });
  if (res.status < 300) forgetCopy(userId); // the Durable Object wrote it: read it fresh here next time
  // A replay is answered 200 (the first answer was 201), with the first answer's body.
  return rawJson(res.body, res.replayed ? 200 : res.status, res.replayed ? { 'idempotent-replayed': 'true' } : {});
}
