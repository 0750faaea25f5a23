// Who is asking (docs/worker.md, "Who may do what"). Three kinds of caller:
// - the shop's backend, with its server credential (`Authorization: Bearer <REDEEM_TOKEN>`, or the
//   ADMIN_TOKEN): it may name any user and redeem, confirm and revert;
// - a shopper, with a short-lived token the shop's backend signed after its own login (a JWT,
//   EdDSA, `sub` = user id, `exp`), verified against SHOPPER_JWKS: priced as that user only;
// - an anonymous shopper (no Authorization): priced with no user, so coupons that depend on who
//   the user is answer SIGN_IN_REQUIRED (the engine's reason).
// The user a request prices for comes from here; a user id in a body or a query is the caller's
// word and counts only from the shop's backend.
import { createLocalJWKSet, jwtVerify } from 'jose';
import { ApiError, timingSafeEqual } from './http.js';
import { userIdProblem } from './profiles.js';

export const ANONYMOUS = Object.freeze({ role: 'anonymous', userId: null });
// "Short-lived": a token that would live longer than a day is refused, whatever it says.
const MAX_TOKEN_LIFETIME_S = 24 * 3600;
// Clocks of the shop's backend and the edge differ a little.
const CLOCK_TOLERANCE_S = 30;

const keySets = new Map(); // SHOPPER_JWKS text -> jose key set, per isolate

function shopperKeys(env) {
  const text = env.SHOPPER_JWKS;
  if (!text) throw tokenInvalid('no_keys', 'this Worker has no SHOPPER_JWKS: it cannot verify shopper tokens');
  let keys = keySets.get(text);
  if (!keys) {
    try {
      keys = createLocalJWKSet(JSON.parse(text));
    } catch (err) {
      console.error('SHOPPER_JWKS is not a JWKS', err);
      throw new ApiError(503, 'SHOPPER_KEYS_INVALID', 'the Worker\'s SHOPPER_JWKS is not a JSON Web Key Set');
    }
    keySets.set(text, keys);
  }
  return keys;
}

function tokenInvalid(reason, message) {
  const err = new ApiError(401, 'SHOPPER_TOKEN_INVALID', message, { reason });
  err.headers = { 'www-authenticate': 'Bearer error="invalid_token"' };
  return err;
}

// jose's error codes, as the reason a page can act on (expired: fetch a new token).
const JOSE_REASONS = {
  ERR_JWT_EXPIRED: ['expired', 'the shopper token has expired; get a new one from the shop'],
  ERR_JWKS_NO_MATCHING_KEY: ['unknown_kid', 'the shopper token is signed by a key this Worker does not trust (kid not in SHOPPER_JWKS)'],
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: ['unknown_kid', 'the shopper token names no single key of SHOPPER_JWKS'],
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: ['signature', 'the shopper token\'s signature does not verify'],
  ERR_JOSE_ALG_NOT_ALLOWED: ['algorithm', 'shopper tokens are signed with EdDSA'],
  ERR_JWT_CLAIM_VALIDATION_FAILED: ['claims', 'the shopper token\'s claims are not valid'],
};

async function verifyShopper(env, token) {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, shopperKeys(env), {
      algorithms: ['EdDSA'], requiredClaims: ['sub', 'exp'], clockTolerance: CLOCK_TOLERANCE_S,
    }));
  } catch (err) {
    if (err instanceof ApiError) throw err;
    const [reason, message] = JOSE_REASONS[err?.code] ?? ['malformed', 'the shopper token is not a signed JWT'];
    throw tokenInvalid(reason, err?.claim ? `${message} (${err.claim}: ${err.reason ?? 'invalid'})` : message);
  }
  if (payload.exp - Date.now() / 1000 > MAX_TOKEN_LIFETIME_S + CLOCK_TOLERANCE_S) {
    throw tokenInvalid('lifetime', `a shopper token may live at most ${MAX_TOKEN_LIFETIME_S / 3600} hours; this one expires later`);
  }
  const problem = userIdProblem(payload.sub);
  if (problem) throw tokenInvalid('claims', `the shopper token's sub: ${problem}`);
  return payload.sub;
}

/** The caller: { role: 'shop' | 'shopper' | 'anonymous', userId } (userId only for a shopper). */
export async function identify(request, env) {
  const header = request.headers.get('authorization');
  if (header === null) return ANONYMOUS;
  const token = /^Bearer ([!-~]+)$/.exec(header)?.[1];
  if (!token) throw unauthorized('Authorization must be "Bearer <token>"');
  const server = [env.REDEEM_TOKEN, env.ADMIN_TOKEN].filter(Boolean);
  if ((await Promise.all(server.map((t) => timingSafeEqual(token, t)))).includes(true)) return { role: 'shop', userId: null };
  if (token.split('.').length !== 3) {
    throw unauthorized('the bearer token is neither the shop\'s server credential nor a shopper token (a signed JWT)');
  }
  return { role: 'shopper', userId: await verifyShopper(env, token) };
}

function unauthorized(message) {
  const err = new ApiError(401, 'UNAUTHORIZED', message);
  err.headers = { 'www-authenticate': 'Bearer' };
  return err;
}

/**
 * The user id a request prices for, given the id it names (`claimed`: body `user.id`, `?user=`, a
 * path): the shop's backend is taken at its word; a shopper is their token's `sub` (naming another
 * id is 403 USER_MISMATCH); an anonymous caller is no one, whatever it names.
 */
export function userFor(who, claimed) {
  if (who.role === 'shop') return claimed ?? null;
  if (who.role === 'shopper') {
    if (claimed !== undefined && claimed !== null && claimed !== who.userId) {
      throw new ApiError(403, 'USER_MISMATCH', 'the request names another user than the shopper token\'s');
    }
    return who.userId;
  }
  return null;
}

/**
 * The body of a pricing request with its `user` as the caller may have it: the shop's as sent;
 * a shopper's with the token's id (the rest of `user` is dropped downstream anyway, pricing.js
 * CLIENT_IGNORED); an anonymous caller's without a user.
 */
export function withUser(who, body) {
  const { user, ...rest } = body;
  if (who.role === 'shop') return body;
  const claimed = user !== null && typeof user === 'object' ? user.id : undefined;
  const id = userFor(who, claimed);
  return id ? { ...rest, user: { ...(typeof user === 'object' && user !== null && !Array.isArray(user) ? user : {}), id } } : rest;
}

/** 401 unless the caller is the shop's backend (confirm, revert, redeem outright, read). */
export function requireShop(who, what) {
  if (who.role === 'shop') return;
  const err = new ApiError(who.role === 'anonymous' ? 401 : 403, 'SERVER_CREDENTIAL_REQUIRED',
    `${what} needs the shop's server credential: Authorization: Bearer <REDEEM_TOKEN>`);
  if (who.role === 'anonymous') err.headers = { 'www-authenticate': 'Bearer' };
  throw err;
}
