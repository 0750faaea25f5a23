// Failed code attempts, limited per client IP and per user: at most ATTEMPT_LIMIT failed codes
// (unknown, mistyped or unissued) within ATTEMPT_WINDOW_S seconds; the failure that reaches the limit
// locks that IP or user out for ATTEMPT_LOCKOUT_S seconds (429 with Retry-After).
//
// A request is counted before it is answered, not after: one AttemptLimiter Durable Object per IP /
// user hands out slots, one per code, checking and taking them in one step (the object runs one
// call at a time), and counts every slot taken as a failure until the request says otherwise. A
// request that gets no slot (locked, or the window full) is refused before it is priced, so no code
// of it is evaluated; after pricing, the slots of the codes that did not fail are given back. So a
// burst of any size gets at most ATTEMPT_LIMIT answers per window that are not 429, and valid codes
// never use up the budget. A request that dies before giving its slots back leaves them counted as
// failures until the window passes (never fewer counted than guessed).
//
// Every request with codes asks the object anyway, so it is the only copy of a lockout: no KV copy
// (that one was up to a second late in other isolates and up to 60 s at other locations). The
// Workers rate-limit binding is per location and approximate, so it is not used either.
import { DurableObject } from 'cloudflare:workers';
import { ApiError } from './http.js';

const settings = (env) => ({
  limit: Number(env.ATTEMPT_LIMIT ?? 10),
  windowMs: Number(env.ATTEMPT_WINDOW_S ?? 600) * 1000,
  lockoutMs: Number(env.ATTEMPT_LOCKOUT_S ?? 900) * 1000,
});

const sum = (slots) => slots.reduce((n, s) => n + s.n, 0);

export class AttemptLimiter extends DurableObject {
  // { slots: [{ at, n, ticket? }] (oldest first; `ticket` while its request is in flight), locked_until }
  #state = { slots: [], locked_until: 0 };

  constructor(ctx, env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      this.#state = (await ctx.storage.get('state')) ?? this.#state;
    });
  }

  // Each method below reads and changes the state without awaiting in between, so two calls never
  // interleave; the write is not awaited, and the output gate holds the answer until it is stored.
  #save() {
    this.ctx.storage.put('state', this.#state);
  }

  /** Takes `n` slots: { ticket } or, when there are not enough, { until } (ms) worth retrying at.
   *  `policy` ({ limit, windowMs }) is the failed-code limit unless given (browser reservations). */
  take(n, policy = settings(this.env)) {
    const { limit, windowMs } = policy;
    const now = Date.now();
    const s = this.#state;
    s.slots = s.slots.filter((x) => x.at > now - windowMs);
    if (s.locked_until > now) return { until: s.locked_until };
    let used = sum(s.slots);
    if (used + n > limit) {
      // The window has room again when enough of the oldest slots have aged out.
      for (const x of s.slots) {
        used -= x.n;
        if (used + n <= limit) return { until: x.at + windowMs };
      }
      return { until: now + windowMs };
    }
    const ticket = crypto.randomUUID();
    s.slots.push({ at: now, n, ticket });
    this.#save();
    return { ticket };
  }

  /** Keeps `failed` slots of a ticket as failures and gives the rest back; returns when a lockout in
   *  effect ends (ms) if this request failed, else 0. The failure that reaches the limit starts it. */
  settle(ticket, failed) {
    const { limit, lockoutMs } = settings(this.env);
    const now = Date.now();
    const s = this.#state;
    const i = s.slots.findIndex((x) => x.ticket === ticket);
    if (i >= 0) {
      if (failed > 0) s.slots[i] = { at: s.slots[i].at, n: failed };
      else s.slots.splice(i, 1);
    }
    if (failed > 0 && s.locked_until <= now && sum(s.slots.filter((x) => !x.ticket)) >= limit) s.locked_until = now + lockoutMs;
    this.#save();
    return failed > 0 && s.locked_until > now ? s.locked_until : 0;
  }
}

/**
 * The limiter subjects of a request: its client IP and, when given, its user. A call with the shop's
 * server credential (`caller.role` "shop") comes from the shop's server, whose address every shopper
 * shares: it counts against the user it names only, so one shopper's typos never lock out the shop's
 * other shoppers (an anonymous one still counts against the address).
 */
export function subjects(request, userId, caller) {
  const user = typeof userId === 'string' && userId ? [`user:${userId}`] : [];
  if (caller?.role === 'shop' && user.length) return user;
  return [`ip:${request.headers.get('cf-connecting-ip') ?? 'unknown'}`, ...user];
}

const stub = (env, name) => env.ATTEMPT_LIMITER.get(env.ATTEMPT_LIMITER.idFromName(name));

/**
 * Runs `attempt` (which evaluates a request's `codes` codes and resolves to { result, failed }, the
 * number of them that failed) within the limits of the subjects `names`. Throws 429 before running it
 * when a subject has no room for the codes; resolves to { result, until }, `until` (ms) when this
 * request's failures leave a subject locked out, else 0. Requests without codes are not limited.
 */
export async function withAttempts(env, names, codes, attempt) {
  if (!codes) return { result: (await attempt()).result, until: 0 };
  const { limit } = settings(env);
  if (codes > limit) {
    // Counted as failures up front, these codes could never fit in the window.
    throw new ApiError(413, 'LIMIT_EXCEEDED', `at most ${limit} codes per request (ATTEMPT_LIMIT)`, { what: 'codes', limit, actual: codes });
  }
  const taken = await Promise.all(names.map(async (name) => ({ name, ...(await stub(env, name).take(codes)) })));
  const refused = taken.filter((t) => !t.ticket);
  if (refused.length) {
    await settle(env, taken, 0);
    throw locked(Math.max(...refused.map((t) => t.until)));
  }
  let out;
  try {
    out = await attempt();
  } catch (err) {
    await settle(env, taken, 0);
    throw err;
  }
  return { result: out.result, until: await settle(env, taken, out.failed) };
}

/** Settles the tickets taken; a limiter that does not answer keeps them as failures (logged). */
async function settle(env, taken, failed) {
  const untils = await Promise.all(taken.filter((t) => t.ticket).map((t) =>
    stub(env, t.name).settle(t.ticket, failed).catch((err) => {
      console.error('attempt limiter unreachable; its slots stay counted', t.name, err);
      return 0;
    })));
  const until = Math.max(0, ...untils);
  return until > Date.now() ? until : 0;
}

/**
 * Counts a browser's reservation (POST /redemptions with a hold, without the server credential)
 * against each subject: at most HOLD_LIMIT per HOLD_WINDOW_S, else 429 RESERVATION_LIMIT_REACHED.
 * Each reservation keeps its slot for the window (its own objects, `hold:<subject>`).
 */
export async function countReservation(env, names) {
  const policy = { limit: Number(env.HOLD_LIMIT ?? 20), windowMs: Number(env.HOLD_WINDOW_S ?? 600) * 1000 };
  const taken = await Promise.all(names.map((name) => stub(env, `hold:${name}`).take(1, policy)));
  const until = Math.max(0, ...taken.filter((t) => !t.ticket).map((t) => t.until));
  if (!until) return;
  const seconds = Math.max(1, Math.ceil((until - Date.now()) / 1000));
  const err = new ApiError(429, 'RESERVATION_LIMIT_REACHED',
    `too many reservations from this shopper or address; try again in ${seconds} s`, { retry_after: seconds, limit: policy.limit });
  err.headers = { 'retry-after': String(seconds) };
  throw err;
}

export function locked(until) {
  const seconds = Math.max(1, Math.ceil((until - Date.now()) / 1000));
  const err = new ApiError(429, 'CODE_ATTEMPTS_LOCKED', `too many invalid codes; try again in ${seconds} s`, { retry_after: seconds });
  err.headers = { 'retry-after': String(seconds) };
  return err;
}
