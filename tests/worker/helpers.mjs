// Shared by the Worker tests: a started Worker with test keys, signed test manifests, and HTTP
// helpers. Manifests are signed with the committed test-only key (tests/keys).
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { importJWK, SignJWT } from 'jose';
import { signJws, testJwks } from '../node/helpers.mjs';
import { ROOT, startWorker } from './server.mjs';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
// A code MAC secret (base64url of 32 bytes), as `couponctl codes secret` writes.
export const CODE_MAC_KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8';

// Bounds, so that no test can hang a CI run (a fresh 2-core machine: one start may need two tries
// of up to a minute; the 1,000-redemption run takes about 25 s here). node:test fails what overruns.
export const START_TIMEOUT = { timeout: 200_000 };
export const STOP_TIMEOUT = { timeout: 30_000 };
export const TEST_TIMEOUT = { timeout: 180_000 };
// A request whose socket stays silent this long fails instead of waiting forever.
const REQUEST_TIMEOUT_MS = 60_000;

export const rfc3339 = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A manifest payload valid from an hour ago for a day; coupons are given by the test. */
export function manifest(coupons, extra = {}) {
  const now = Date.now();
  return {
    version: 1, id: 'worker-tests', issued_at: rfc3339(now - 3600e3), expires_at: rfc3339(now + 86400e3),
    currency: 'USD', coupons, ...extra,
  };
}

export const demoManifest = () => {
  const m = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs/examples/demo-manifest.json'), 'utf8'));
  const now = Date.now();
  return { ...m, issued_at: rfc3339(now - 3600e3), expires_at: rfc3339(now + 86400e3) };
};

export const sign = (payload) => signJws(payload);

export async function start(vars = {}, options = {}) {
  return startWorker({
    vars: { MANIFEST_JWKS: testJwks(), ADMIN_TOKEN, CODE_MAC_KEY, ATTEMPT_LIMIT: '1000', ...vars },
    ...options,
  });
}

// Kept-alive connections, at most 64 at a time: a thousand concurrent requests queue here instead
// of opening a thousand sockets to wrangler's local proxy.
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/**
 * An HTTP request; resolves to { status, headers (a Headers), text, json (null when not JSON) }.
 * `wrangler dev` reloads the Worker when a watched file changes (another engineer rebuilding pkg/
 * or editing www/) and answers requests caught in that reload with a plain-text 503 of its own. A
 * client would retry those with the same Idempotency-Key, which is exactly what the API promises
 * is safe, so this does the same (the Worker's own errors are JSON and are never retried).
 */
export async function call(server, method, pathname, options = {}) {
  for (let attempt = 1; ; attempt++) {
    const res = await send(server, method, pathname, options);
    if (!(res.status === 503 && res.text.includes('restarted mid-request')) || attempt === 5) return res;
    await sleep(500 * attempt);
  }
}

function send(server, method, pathname, options = {}) {
  const { body, headers = {} } = options;
  const h = { ...headers };
  let data;
  if (body !== undefined) {
    data = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
    h['content-length'] = String(data.length);
  }
  return new Promise((resolve, reject) => {
    const req = http.request(`${server.url}${pathname}`, { method, headers: h, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try {
          json = JSON.parse(text);
        } catch {
          // not JSON
        }
        const out = new Headers();
        for (const [k, v] of Object.entries(res.headers)) out.set(k, Array.isArray(v) ? v.join(', ') : v);
        resolve({ status: res.statusCode, headers: out, text, json });
      });
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`${method} ${pathname}: no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', (err) => {
      // A kept-alive socket the server closed just as this request went out (Node documents this
      // race for reused sockets): send it again on a fresh one. Requests are idempotent by key.
      if (req.reusedSocket && err.code === 'ECONNRESET' && !options.retried) {
        resolve(send(server, method, pathname, { ...options, retried: true }));
      } else reject(err);
    });
    if (data) req.write(data);
    req.end();
  });
}

export const admin = (server, method, pathname, opts = {}) =>
  call(server, method, pathname, { ...opts, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(opts.headers ?? {}) } });

export async function publish(server, payload) {
  const res = await admin(server, 'PUT', '/admin/manifest', { body: sign(payload), headers: { 'content-type': 'application/jose' } });
  if (res.status !== 201) throw new Error(`publish failed: ${res.status} ${res.text}`);
  return res.json;
}

/** A call from the shop's backend: its server credential (REDEEM_TOKEN) names users and redeems. */
export const shop = (server, method, pathname, opts = {}) =>
  call(server, method, pathname, { ...opts, headers: { authorization: `Bearer ${server.redeemToken}`, ...(opts.headers ?? {}) } });

/** POST /redemptions from the shop's backend (a browser may only reserve: see shopperHeaders). */
export const redeem = (server, key, body, headers = {}) =>
  shop(server, 'POST', '/redemptions', { body, headers: { 'idempotency-key': key, ...headers } });

/**
 * A shopper token as a shop's backend mints it after its login (docs/worker.md): a JWT signed with
 * EdDSA by a key in the Worker's SHOPPER_JWKS, `sub` the user id. `ttl` in seconds (negative: expired).
 */
export async function shopperToken(server, userId, { ttl = 900, key = server.shopperKey, claims = {} } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: key.kid }).setIssuedAt(now).setExpirationTime(now + ttl);
  if (userId !== undefined) jwt.setSubject(userId);
  return jwt.sign(await importJWK(key, 'EdDSA'));
}

/** Headers of a browser request by a signed-in shopper. */
export const shopperHeaders = async (server, userId, extra = {}) => ({ authorization: `Bearer ${await shopperToken(server, userId)}`, ...extra });

export const counters = async (server, couponId, user) =>
  (await admin(server, 'GET', `/admin/coupons/${couponId}/counters${user ? `?user=${encodeURIComponent(user)}` : ''}`)).json;

export const cart = (price = '100.00', extra = {}) => ({
  currency: 'USD',
  lines: [{ id: 'l1', product_id: 'p1', quantity: 1, unit_price: price, attributes: { category: 'shoes' } }],
  ...extra,
});

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls fn until it returns a truthy value (KV copies are written by an alarm, about 1 s later). */
export async function eventually(fn, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await sleep(200);
  }
  return last;
}

const ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
/** GF(32) "times x" with x^5 + x^2 + 1 (docs/cli.md, the check character). */
const xtime = (v) => ((v << 1) & 0x20 ? ((v << 1) ^ 0x25) : v << 1);

/**
 * A generated bulk code, built here from docs/cli.md (not by the Worker's code): prefix, random
 * characters, 4 MAC characters (HMAC-SHA256 under the secret), one check character.
 */
export function generatedCode(prefix, random, secret = CODE_MAC_KEY, macChars = 4) {
  const tag = crypto.createHmac('sha256', Buffer.from(secret, 'base64url')).update(`coupon-code-mac:v1:${prefix}${random}`).digest();
  let v = tag.readBigUInt64BE(0);
  let mac = '';
  for (let i = 0; i < macChars; i++) {
    mac += ALPHABET[Number(v % 32n)];
    v /= 32n;
  }
  let state = 0;
  for (const ch of random + mac) state = xtime(state) ^ ALPHABET.indexOf(ch);
  return `${prefix}${random}${mac}${ALPHABET[xtime(state)]}`;
}

/** couponctl's bulk code hash (docs/cli.md, codes import): SHA-512/256, base64url. */
export const codeHash = (couponId, code) =>
  crypto.createHash('sha512-256').update(`coupon-code:v1:${couponId}:${code}`).digest('base64url');
