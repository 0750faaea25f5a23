// The console's session (docs/worker.md, "The console"): the marketer signs in once with the admin
// credential, which is then kept only in an HttpOnly, SameSite=Strict cookie, never in the URL or
// in page storage. The cookie is `<expiry>.<HMAC-SHA256(expiry)>` under a key derived from
// ADMIN_TOKEN (WebCrypto): no server state, and rotating ADMIN_TOKEN signs every session out.
// A request authenticated by the cookie must also carry `X-Requested-With: console`, a custom
// header no cross-site form can send (CSRF); the bearer token works as before.
import { ApiError, json, readJsonObject, requireBearer, rfc3339, timingSafeEqual } from './http.js';
import { subjects, withAttempts, locked } from './attempts.js';

export const COOKIE = 'console_session';
const MAX_AGE_S = 8 * 3600;
const keys = new Map(); // ADMIN_TOKEN -> the derived HMAC key (a promise), per isolate

const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** HMAC key = HMAC-SHA256(ADMIN_TOKEN, "console-session:v1"): the token itself never signs cookies. */
function sessionKey(token) {
  let key = keys.get(token);
  if (!key) {
    const enc = new TextEncoder();
    key = crypto.subtle.importKey('raw', enc.encode(token), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
      .then((k) => crypto.subtle.sign('HMAC', k, enc.encode('console-session:v1')))
      .then((raw) => crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']));
    keys.set(token, key);
  }
  return key;
}

async function mac(env, expiry) {
  return b64url(await crypto.subtle.sign('HMAC', await sessionKey(env.ADMIN_TOKEN), new TextEncoder().encode(`${expiry}`)));
}

function adminConfigured(env) {
  if (!env.ADMIN_TOKEN) throw new ApiError(503, 'ADMIN_DISABLED', 'the Worker has no ADMIN_TOKEN secret; admin routes are off');
}

/** The session cookie's value in this request, or null. */
function cookieOf(request) {
  for (const part of (request.headers.get('cookie') ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === COOKIE) return rest.join('=');
  }
  return null;
}

/** The session's expiry (unix seconds) when the cookie is genuine and current, else null. */
async function validSession(request, env) {
  const value = cookieOf(request);
  const m = value && /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!m) return null;
  const expiry = Number(m[1]);
  if (expiry <= Date.now() / 1000) return null;
  return (await timingSafeEqual(m[2], await mac(env, expiry))) ? expiry : null;
}

function cookie(request, value, maxAge) {
  const secure = new URL(request.url).protocol === 'https:' ? '; Secure' : '';
  return `${COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}${secure}`;
}

/**
 * Admin auth: `Authorization: Bearer <ADMIN_TOKEN>`, or the console's session cookie together with
 * `X-Requested-With: console` (403 CSRF_HEADER_REQUIRED without it). 401 UNAUTHORIZED otherwise.
 */
export async function requireAdmin(request, env) {
  adminConfigured(env);
  const message = 'admin routes need Authorization: Bearer <ADMIN_TOKEN> or the console\'s session';
  if (request.headers.get('authorization') === null && cookieOf(request) !== null) {
    if (!(await validSession(request, env))) {
      const err = new ApiError(401, 'UNAUTHORIZED', 'the console session has expired or is not valid; sign in again');
      err.headers = { 'www-authenticate': 'Bearer' };
      throw err;
    }
    if ((request.headers.get('x-requested-with') ?? '').toLowerCase() !== 'console') {
      throw new ApiError(403, 'CSRF_HEADER_REQUIRED', 'a request with the console\'s session cookie must carry X-Requested-With: console');
    }
    return;
  }
  await requireBearer(request, [env.ADMIN_TOKEN], message);
}

/**
 * POST /console/session { token }: 204 with the cookie. A wrong token is 401 and counts as a failed
 * attempt of the client's IP (the AttemptLimiter of failed codes), so guessing it gets locked out.
 */
export async function postSession(request, env) {
  adminConfigured(env);
  const { value } = await readJsonObject(request, 4096);
  if (typeof value.token !== 'string') throw new ApiError(400, 'INVALID_REQUEST', 'token must be a string', { path: 'token' });
  const { result: ok, until } = await withAttempts(env, subjects(request), 1, async () => {
    const match = await timingSafeEqual(value.token, env.ADMIN_TOKEN);
    return { result: match, failed: match ? 0 : 1 };
  });
  if (!ok) {
    if (until) throw locked(until);
    throw new ApiError(401, 'UNAUTHORIZED', 'that is not the admin token');
  }
  const expiry = Math.floor(Date.now() / 1000) + MAX_AGE_S;
  return new Response(null, {
    status: 204,
    headers: { 'set-cookie': cookie(request, `${expiry}.${await mac(env, expiry)}`, MAX_AGE_S), 'cache-control': 'no-store' },
  });
}

/** GET /console/session: { signed_in, expires_at } or 401 CONSOLE_SIGNED_OUT. */
export async function getSession(request, env) {
  adminConfigured(env);
  const expiry = await validSession(request, env);
  if (!expiry) throw new ApiError(401, 'CONSOLE_SIGNED_OUT', 'not signed in to the console (or the session expired)');
  return json({ signed_in: true, expires_at: rfc3339(expiry * 1000) }, 200, { 'cache-control': 'no-store' });
}

/** DELETE /console/session: 204, the cookie cleared. */
export function deleteSession(request) {
  return new Response(null, { status: 204, headers: { 'set-cookie': cookie(request, '', 0), 'cache-control': 'no-store' } });
}
