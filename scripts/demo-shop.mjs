#!/usr/bin/env node
// A stand-in for a shop's backend: what a real shop's server does around the coupon Worker, in as
// few lines as it takes. `make dev` runs it on 127.0.0.1:8788; the browser tests start one per file.
//
//   node scripts/demo-shop.mjs --port 8788 --worker http://127.0.0.1:8787 \
//     --key .dev/shopper-signing-key.jwk.json --redeem-token-file .dev/redeem-token --shop www/shop.json
//   node scripts/demo-shop.mjs --key .dev/shopper-signing-key.jwk.json --mint u-1001   # prints a token
//
// The Worker trusts two things from a shop, never the browser's word (docs/worker.md):
// - who the shopper is: a short-lived JWT (EdDSA, `sub` = user id) that the shop signs after its own
//   login, checked at the edge against the shop's public keys (SHOPPER_JWKS). Here: GET /session.
// - that an order was paid: only the shop's server credential (REDEEM_TOKEN) may confirm a
//   reservation the page made, or revert it. Here: POST /orders and POST /orders/{id}/cancel.
//
// Routes (JSON, CORS for the page's origin):
//   GET  /session                     -> { user_id, display_name, token, expires_at }
//   POST /orders { redemption_id }    -> { order: { order_id, status: "paid", redemption } }
//                                        402 PAYMENT_FAILED (reverted) when the body has "fail_payment": true
//   POST /orders/{redemption_id}/cancel -> { order: { order_id, status: "cancelled", redemption } }
// Orders and cancellations need the shopper's token (Authorization: Bearer), as a real shop needs
// its own login session for them.
import fs from 'node:fs';
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { SignJWT, importJWK, jwtVerify } from 'jose';

const TOKEN_TTL_S = 15 * 60; // a shopper token lives 15 minutes; the page asks for a new one before
const WORKER_TIMEOUT_MS = 10_000;
const MAX_BODY = 16 * 1024;

/** A shopper token for `userId`: what the shop's login hands the page. */
export async function mintShopperToken(signingKey, userId, ttlSeconds = TOKEN_TTL_S) {
  const key = await importJWK(signingKey, 'EdDSA');
  const exp = Math.floor(Date.now() / 1000) + ttlSeconds;
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', kid: signingKey.kid })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(key);
  return { token, expires_at: new Date(exp * 1000).toISOString() };
}

class HttpError extends Error {
  constructor(status, code, message, details = {}) {
    super(message);
    Object.assign(this, { status, code, details });
  }
}

/**
 * Starts the stand-in. signingKey: the shop's private Ed25519 JWK (with kid) whose public half is
 * the Worker's SHOPPER_JWKS; redeemToken: the Worker's REDEEM_TOKEN; user: the one demo shopper
 * { id, display_name }; allowOrigin: the page's origin (or a list). Resolves to { url, stop() }.
 */
export async function startDemoShop({ port = 0, host = '127.0.0.1', workerUrl, signingKey, redeemToken, user, allowOrigin }) {
  if (!workerUrl || !signingKey?.d || !redeemToken || !user?.id) throw new Error('startDemoShop needs workerUrl, signingKey (private JWK), redeemToken and user.id');
  const origins = new Set([allowOrigin].flat().filter(Boolean));
  const { d: _private, ...publicJwk } = signingKey;
  const verifyKey = await importJWK(publicJwk, 'EdDSA');
  // The shop's own orders, by redemption id: a retried POST /orders answers the same order.
  const orders = new Map();

  /** The signed-in shopper: here the token this server signed; in a real shop, its session cookie. */
  async function shopper(req) {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    try {
      if (!token) throw new Error('no token');
      return (await jwtVerify(token, verifyKey, { algorithms: ['EdDSA'] })).payload.sub;
    } catch {
      throw new HttpError(401, 'SIGN_IN_REQUIRED', 'sign in first (GET /session gives the demo shopper a token)');
    }
  }

  /** A call to the Worker with the shop's server credential. Resolves to { status, body }. */
  async function worker(method, path) {
    let res;
    try {
      res = await fetch(`${workerUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${redeemToken}` },
        signal: AbortSignal.timeout(WORKER_TIMEOUT_MS),
      });
    } catch (err) {
      throw new HttpError(502, 'WORKER_UNREACHABLE', `the coupon Worker did not answer (${err.message})`);
    }
    return { status: res.status, body: await res.json().catch(() => null) };
  }

  /** The reservation the page made, read with the server credential (never taken from the browser). */
  async function reservation(id) {
    const { status, body } = await worker('GET', `/redemptions/${encodeURIComponent(id)}`);
    if (status === 404) throw new HttpError(404, 'REDEMPTION_NOT_FOUND', `no reservation ${id} at the Worker`);
    if (status !== 200) throw new HttpError(502, body?.error?.code ?? 'WORKER_ERROR', body?.error?.message ?? `the Worker answered ${status}`);
    return body.redemption;
  }

  async function placeOrder(req) {
    const who = await shopper(req);
    const body = await readJson(req);
    const id = body.redemption_id;
    if (typeof id !== 'string' || !id) throw new HttpError(400, 'INVALID_REQUEST', 'redemption_id: a redemption id is required');
    const done = orders.get(id);
    if (done?.status === 'paid') return [200, { order: done }]; // a retry: the same order, charged once
    // The reservation must be this shopper's own (the Worker says whose it is to the server credential).
    const held = await reservation(id);
    if (held.user_id !== who) throw new HttpError(403, 'NOT_YOUR_RESERVATION', 'this reservation belongs to another shopper');
    if (held.status !== 'reserved' && held.status !== 'redeemed') {
      throw new HttpError(409, 'NOT_RESERVED', `the reservation is ${held.status}: place the order again`, { redemption: held });
    }
    const orderId = held.order_id;

    // 1. Take the payment (a stand-in: it succeeds unless the test asks it not to). A failed payment
    //    gives the coupon uses back at once rather than holding them until the reservation lapses.
    if (body.fail_payment === true) {
      const reverted = await worker('POST', `/redemptions/${encodeURIComponent(id)}/revert`);
      orders.set(id, { order_id: orderId, status: 'payment_failed', redemption: reverted.body?.redemption });
      throw new HttpError(402, 'PAYMENT_FAILED', 'the payment was declined; nothing was charged and the coupons were given back', {
        redemption: reverted.body?.redemption,
      });
    }
    // 2. Paid: confirm the reservation, so its uses count for good. Confirm is idempotent at the
    //    Worker. If it refuses (the hold lapsed while paying), a real shop refunds here.
    const confirmed = await worker('POST', `/redemptions/${encodeURIComponent(id)}/confirm`);
    if (confirmed.status !== 200) {
      const e = confirmed.body?.error ?? {};
      throw new HttpError(confirmed.status >= 500 ? 502 : confirmed.status, e.code ?? 'CONFIRM_FAILED', `the payment was refunded: ${e.message ?? `the Worker answered ${confirmed.status}`}`);
    }
    const order = { order_id: orderId, status: 'paid', redemption: confirmed.body.redemption };
    orders.set(id, order);
    return [200, { order }];
  }

  async function cancelOrder(req, id) {
    const who = await shopper(req);
    const held = await reservation(id);
    if (held.user_id !== who) throw new HttpError(403, 'NOT_YOUR_RESERVATION', 'this reservation belongs to another shopper');
    // Revert gives every use back once; again, it answers the same and changes nothing.
    const reverted = await worker('POST', `/redemptions/${encodeURIComponent(id)}/revert`);
    if (reverted.status !== 200) throw new HttpError(reverted.status, reverted.body?.error?.code ?? 'REVERT_FAILED', reverted.body?.error?.message ?? 'the Worker refused');
    const order = { order_id: held.order_id, status: 'cancelled', redemption: reverted.body.redemption };
    orders.set(id, order);
    return [200, { order }];
  }

  async function route(req, path) {
    if (req.method === 'GET' && path === '/session') {
      // The shop's login stands here: this stand-in has one shopper, always signed in.
      return [200, { user_id: user.id, display_name: user.display_name ?? user.id, ...(await mintShopperToken(signingKey, user.id)) }];
    }
    if (req.method === 'POST' && path === '/orders') return placeOrder(req);
    const cancel = /^\/orders\/([^/]+)\/cancel$/.exec(path);
    if (req.method === 'POST' && cancel) return cancelOrder(req, decodeURIComponent(cancel[1]));
    throw new HttpError(404, 'NOT_FOUND', `no route ${req.method} ${path}`);
  }

  const server = http.createServer(async (req, res) => {
    const headers = { 'content-type': 'application/json', 'cache-control': 'no-store', vary: 'Origin' };
    if (origins.has(req.headers.origin)) {
      Object.assign(headers, {
        'access-control-allow-origin': req.headers.origin,
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': 'authorization, content-type',
        'access-control-max-age': '600',
      });
    }
    if (req.method === 'OPTIONS') return res.writeHead(204, headers).end();
    let status;
    let body;
    try {
      [status, body] = await route(req, new URL(req.url, 'http://x').pathname);
    } catch (err) {
      if (!(err instanceof HttpError)) console.error('demo-shop:', err);
      const e = err instanceof HttpError ? err : new HttpError(500, 'INTERNAL', 'the shop stand-in failed');
      [status, body] = [e.status, { error: { code: e.code, message: e.message, ...e.details } }];
    }
    res.writeHead(status, headers).end(JSON.stringify(body));
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return {
    url: `http://${host}:${server.address().port}`,
    stop: () => new Promise((resolve) => server.close(resolve).closeAllConnections()),
  };
}

async function readJson(req) {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > MAX_BODY) throw new HttpError(413, 'BODY_TOO_LARGE', `at most ${MAX_BODY} bytes`);
  }
  try {
    const value = JSON.parse(text || 'null');
    if (value && typeof value === 'object' && !Array.isArray(value)) return value;
  } catch {
    // answered below
  }
  throw new HttpError(400, 'INVALID_JSON', 'the body must be a JSON object');
}

// The command line.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values: o } = parseArgs({
    options: {
      port: { type: 'string', default: '8788' },
      host: { type: 'string', default: '127.0.0.1' },
      worker: { type: 'string', default: 'http://127.0.0.1:8787' },
      key: { type: 'string', default: '.dev/shopper-signing-key.jwk.json' },
      'redeem-token-file': { type: 'string', default: '.dev/redeem-token' },
      shop: { type: 'string', default: 'www/shop.json' },
      'allow-origin': { type: 'string', multiple: true },
      mint: { type: 'string' },
    },
  });
  const signingKey = JSON.parse(fs.readFileSync(o.key, 'utf8'));
  if (o.mint) {
    process.stdout.write(`${(await mintShopperToken(signingKey, o.mint)).token}\n`);
  } else {
    const { user } = JSON.parse(fs.readFileSync(o.shop, 'utf8'));
    const shop = await startDemoShop({
      port: Number(o.port),
      host: o.host,
      workerUrl: o.worker,
      signingKey,
      redeemToken: process.env.REDEEM_TOKEN ?? fs.readFileSync(o['redeem-token-file'], 'utf8').trim(),
      user: { id: user.context.id, display_name: user.display_name },
      allowOrigin: o['allow-origin'] ?? [o.worker],
    });
    console.log(`demo-shop: the shop backend stand-in on ${shop.url} (shopper ${user.context.id}, Worker ${o.worker})`);
    for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => shop.stop().then(() => process.exit(0)));
  }
}
