// Failed code attempts, limited per client IP and per user: after ATTEMPT_LIMIT failures (unknown,
// mistyped or unissued codes) within ATTEMPT_WINDOW_S seconds, that IP or user is locked out for
// ATTEMPT_LOCKOUT_S seconds (429 with Retry-After). One small Durable Object per IP / user counts
// failures exactly (only requests that fail reach it); a lockout it starts is published in KV
// (`lock:<subject>`), which every request with codes reads (an isolate keeps its copy for 1 s): the
// isolate that started a lockout sees it at once, others within a second, other locations within
// KV's propagation (up to 60 s). The Workers
// rate-limit binding is per location and approximate, so it is not used.
import { DurableObject } from 'cloudflare:workers';
import { ApiError } from './http.js';
import { cachedGet, remember } from './kv-cache.js';

const LOCK_TTL_MS = 1000; // how long an isolate trusts its copy of a lock record

const settings = (env) => ({
  limit: Number(env.ATTEMPT_LIMIT ?? 10),
  windowMs: Number(env.ATTEMPT_WINDOW_S ?? 600) * 1000,
  lockoutMs: Number(env.ATTEMPT_LOCKOUT_S ?? 900) * 1000,
});

export class AttemptLimiter extends DurableObject {
  async fail(count) {
    const { limit, windowMs, lockoutMs } = settings(this.env);
    const now = Date.now();
    const recent = ((await this.ctx.storage.get('failures')) ?? []).filter((t) => t > now - windowMs);
    for (let i = 0; i < count; i++) recent.push(now);
    const kept = recent.slice(-limit); // only the last `limit` matter for the decision
    let until = (await this.ctx.storage.get('locked_until')) ?? 0;
    if (kept.length >= limit) until = now + lockoutMs;
    await this.ctx.storage.put({ failures: kept, locked_until: until });
    return until > now ? until : 0;
  }
}

const lockKey = (name) => `lock:${name}`;

/** The limiter subjects of a request: its client IP and, when given, its user. */
export function subjects(request, userId) {
  const ip = request.headers.get('cf-connecting-ip') ?? 'unknown';
  return [`ip:${ip}`, ...(typeof userId === 'string' && userId ? [`user:${userId}`] : [])];
}

const stub = (env, name) => env.ATTEMPT_LIMITER.get(env.ATTEMPT_LIMITER.idFromName(name));

/** Throws 429 CODE_ATTEMPTS_LOCKED (Retry-After) when any subject is locked out. */
export async function assertNotLocked(env, names) {
  const until = Math.max(0, ...(await Promise.all(names.map(async (n) => Number((await cachedGet(env.STATE, lockKey(n), 'text', LOCK_TTL_MS)) ?? 0)))));
  if (until > Date.now()) throw locked(until);
}

/** Counts failed codes; returns when a lockout it started ends (ms), else 0. */
export async function recordFailures(env, names, count) {
  if (!count) return 0;
  const until = Math.max(0, ...(await Promise.all(names.map(async (n) => {
    const u = await stub(env, n).fail(count);
    // KV expirations are at least 60 s; the value says when the lockout really ends.
    if (u) {
      await env.STATE.put(lockKey(n), String(u), { expirationTtl: Math.max(60, Math.ceil((u - Date.now()) / 1000) + 1) });
      remember(lockKey(n), String(u), LOCK_TTL_MS);
    }
    return u;
  }))));
  return until > Date.now() ? until : 0;
}

export function locked(until) {
  const seconds = Math.max(1, Math.ceil((until - Date.now()) / 1000));
  const err = new ApiError(429, 'CODE_ATTEMPTS_LOCKED', `too many invalid codes; try again in ${seconds} s`, { retry_after: seconds });
  err.headers = { 'retry-after': String(seconds) };
  return err;
}
