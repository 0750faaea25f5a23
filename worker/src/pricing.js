// Pricing at the edge: the engine decides; this module only prepares its input from stored state
// (user profiles and assignments, usage counters, status overrides, verified bulk codes) and re-runs
// it until that input no longer changes. Every route that prices a cart (evaluate, redemptions) comes here.
import { call } from './engine.js';
import { assignmentsOf } from './assignments.js';
import { profileOf } from './profiles.js';
import { loggedOf, mergeContext } from './event-log.js';
import { issuedCodeHash, seenUsed } from './codes.js';
import { exhaustedUsage, overrideReason, readOverrides } from './overrides.js';
import { groupOf, hasLimits, readUsage } from './usage.js';

// The engine's own reason for a code that matches nothing. A bulk code that was never issued, or is
// used up, gets exactly this, so an answer never tells whether a code exists (tests/worker check it
// against the engine's entry for a random code).
export const UNKNOWN_CODE = { code: 'UNKNOWN_CODE', message: 'this code is not valid' };
const FAILED_CODE_REASONS = new Set(['UNKNOWN_CODE', 'CODE_MISTYPED']);
const MAX_ROUNDS = 8;

// What a request may not say about its user: the Worker has these facts from its own store.
export const CLIENT_IGNORED = ['properties', 'segments', 'events', 'assignments', 'activations'];

/**
 * The user context the engine sees: the request's `user.id`, and the stored profile (properties,
 * segments, events), assignments, and the events sent for that id with the assignments and
 * activations they made (event-log.js). Whatever else a client says about its user is dropped (CLIENT_IGNORED); any
 * other field is left for the engine to refuse, and a `user` that is not an object too. Without an id there is nothing stored to look up: the engine sees no facts.
 */
export async function userContext(env, user) {
  if (user === undefined || user === null || typeof user !== 'object' || Array.isArray(user)) return user;
  const rest = Object.fromEntries(Object.entries(user).filter(([k]) => !CLIENT_IGNORED.includes(k)));
  if (typeof rest.id !== 'string' || !rest.id) return rest;
  const [profile, assignments, logged] = await Promise.all([profileOf(env, rest.id), assignmentsOf(env, rest.id), loggedOf(env, rest.id)]);
  return { ...rest, ...mergeContext(profile, assignments, logged) };
}

/**
 * Prices `input` ({cart, user?, codes?}) at `now`. Returns the engine request that produced the
 * evaluation (the counters' Durable Objects re-run exactly it), the evaluation, the verified bulk
 * code hash per coupon, and how many typed codes failed (for the attempt limiter).
 * `options.usageFor(coupon, userId)` reads counters (defaults to the KV copies); a limit group's too
 * (`{ id: "group:<name>", limits }`, usage.js), into the request's `usage.groups`.
 */
export async function priceAtEdge(env, loaded, input, now, options = {}) {
  const { usage: _clientUsage, now: _clientNow, ...rest } = input; // the counters and the clock are ours
  const request = { ...rest, now };
  if ('user' in input) request.user = await userContext(env, input.user);
  const userId = typeof request.user?.id === 'string' ? request.user.id : undefined;
  const overrides = await readOverrides(env);
  const usageFor = options.usageFor ?? ((coupon) => readUsage(env, coupon, userId));

  // Overridden coupons with a limit look used up to the engine; their reasons are rewritten below.
  const usage = {};
  const groups = {};
  const usageOf = () => ({ coupons: { ...usage }, ...(Object.keys(groups).length ? { groups: { ...groups } } : {}) });
  for (const [id, o] of Object.entries(overrides)) {
    const coupon = loaded.coupons.get(id);
    const exhausted = coupon && exhaustedUsage(coupon);
    if (exhausted && o.status) usage[id] = exhausted;
  }

  let codes = Array.isArray(request.codes) ? [...request.codes] : request.codes;
  const extraRejected = [];
  const bulk = {};
  let evaluation;
  for (let round = 0; ; round++) {
    const req = { ...request, ...(codes !== undefined ? { codes } : {}), usage: usageOf() };
    // The request's text, so numbers kept exact by parseJson (http.js) reach the engine as sent.
    evaluation = call(() => loaded.engine.evaluateJson(JSON.stringify(req)));
    if (round >= MAX_ROUNDS) break;
    // Counters for every coupon that applied and has limits (a coupon refused for another reason
    // needs none; one that appears once another is used up gets its counters next round).
    const missing = evaluation.applied.filter((a) => !(a.coupon_id in usage) && hasLimits(loaded.coupons.get(a.coupon_id)));
    const entries = await Promise.all(missing.map((a) => usageFor(loaded.coupons.get(a.coupon_id), userId)));
    missing.forEach((a, i) => { usage[a.coupon_id] = entries[i]; });
    // The counters of their limit groups too (a coupon that applied is checked against both).
    const shared = evaluation.applied.map((a) => groupOf(loaded, loaded.coupons.get(a.coupon_id))).filter((g) => g && !(g.group in groups));
    const groupEntries = await Promise.all(shared.map((g) => usageFor(g, userId)));
    shared.forEach((g, i) => { groups[g.group] = groupEntries[i]; });
    // Codes to take out: those of overridden coupons, and bulk codes the store does not vouch for.
    const drop = [];
    for (const a of evaluation.applied) {
      if (a.code === null) continue;
      const o = overrides[a.coupon_id];
      if (o) {
        drop.push(a.code);
        extraRejected.push({ code: a.code, coupon_id: a.coupon_id, reason: overrideReason(o.status) });
      } else if (a.verification === 'format_only' && !bulk[a.coupon_id]) {
        const coupon = loaded.coupons.get(a.coupon_id);
        const hash = await issuedCodeHash(env, coupon, a.code);
        if (hash && !(await seenUsed(env, a.coupon_id, hash))) {
          bulk[a.coupon_id] = { hash, code: a.code };
        } else {
          drop.push(a.code);
          extraRejected.push({ code: a.code, reason: { ...UNKNOWN_CODE } });
        }
      }
    }
    if (drop.length) codes = removeCodes(loaded.engine, codes, drop, now);
    if (!missing.length && !shared.length && !drop.length) break;
  }

  for (const r of evaluation.rejected) {
    const o = r.coupon_id && overrides[r.coupon_id];
    if (o) r.reason = overrideReason(o.status); // the engine checks status first; so do we
  }
  for (const a of evaluation.applied) if (bulk[a.coupon_id]?.code === a.code) a.verification = 'full';
  evaluation.rejected = [...evaluation.rejected, ...extraRejected].sort((x, y) => (x.code < y.code ? -1 : x.code > y.code ? 1 : 0));
  const failedCodes = evaluation.rejected.filter((r) => FAILED_CODE_REASONS.has(r.reason.code)).length;
  return {
    request: { ...request, ...(codes !== undefined ? { codes } : {}), usage: usageOf() },
    evaluation,
    bulk,
    failedCodes,
  };
}

/** The typed codes without those that normalise to one in `drop` (the engine normalises). */
function removeCodes(engine, codes, drop, now) {
  const gone = new Set(drop);
  return codes.filter((raw) => {
    const normalized = call(() => engine.checkCode(raw, { now })).code;
    return !gone.has(normalized);
  });
}
