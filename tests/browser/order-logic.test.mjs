// The page's order and session logic (www/order.js, www/session.js) in Node, where a browser cannot
// easily reach: one key per attempt across retries, the answers of the shop's backend classified, the
// shopper token renewed before it expires and once on a 401, and the explanation of confirmed amounts
// that differ from the preview (the Worker answers 201 with them when a coupon's budget ran low or it
// dropped out at the edge).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadPackage, signJws, testJwks } from '../node/helpers.mjs';
import { ROOT, copyPackage } from './server.mjs';
import { requestFor } from './helpers.mjs';

copyPackage(); // www/order.js imports www/engine.js, which imports www/pkg/
const { HOLD, attemptFor, explainDifferences, finishAttempt, payOrder, sendAttempt } = await import('../../www/order.js');
const { createSession } = await import('../../www/session.js');

const memoryStorage = () => {
  const m = new Map();
  return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k) };
};

test('an order attempt keeps its key and exact body until it is finished; another cart is another attempt', { timeout: 30_000 }, () => {
  const storage = memoryStorage();
  const request = requestFor({ 'runner-42': 1 }, ['SHOES15']);
  const first = attemptFor(request, storage);
  assert.match(first.key, /^[0-9a-f-]{36}$/);
  // A browser may only reserve: every attempt asks for a hold of at most 15 minutes.
  assert.equal(HOLD, 'PT15M');
  assert.deepEqual(JSON.parse(first.body), { ...request, order_id: first.orderId, hold: 'PT15M' });
  // A retry (or a reload: the attempt lives in storage) sends the same key and bytes.
  const again = attemptFor(structuredClone(request), storage);
  assert.equal(again.key, first.key);
  assert.equal(again.body, first.body);
  // A changed cart is a new attempt.
  const other = attemptFor(requestFor({ 'runner-42': 2 }, ['SHOES15']), storage);
  assert.notEqual(other.key, first.key);
  assert.notEqual(other.orderId, first.orderId);
  // Once an attempt got its final answer, even the same cart gets a new key.
  finishAttempt(storage);
  assert.notEqual(attemptFor(requestFor({ 'runner-42': 2 }, ['SHOES15']), storage).key, other.key);
});

test('confirmed amounts that differ from the preview are explained coupon by coupon, with the engine reasons', { timeout: 30_000 }, async () => {
  const { CouponEngine } = await loadPackage();
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs/examples/demo-manifest.json'), 'utf8'));
  const now = '2026-01-15T12:00:00Z';
  const engine = CouponEngine.fromSignedManifest(signJws(manifest), testJwks(), { now });
  const request = { ...requestFor({ 'runner-42': 1, 'tee-white-m': 2 }, ['WELCOME10', 'TENOFF']), now };
  const preview = engine.evaluate(request);
  // At the edge: the customer used WELCOME10 meanwhile, and TENOFF's budget has 4.00 left.
  const confirmed = engine.evaluate({
    ...request,
    usage: { coupons: { 'welcome-10': { user_redemptions: 1 }, 'ten-off-75': { discount_given: '24996.00' } } },
  });
  const fmt = (v) => `$${v}`;
  const notes = explainDifferences(preview, confirmed, fmt);
  const welcome = confirmed.rejected.find((r) => r.code === 'WELCOME10');
  assert.equal(welcome.reason.code, 'USER_LIMIT_REACHED');
  const tenoff = confirmed.applied.find((a) => a.coupon_id === 'ten-off-75');
  assert.equal(tenoff.discount, '4.00');
  assert.deepEqual(notes, [
    `Welcome: 10% off your first order (WELCOME10) was not applied to your order: ${welcome.reason.message}.`,
    '10.00 off orders over 75 (TENOFF) gave $4.00 instead of $10.00: its budget was nearly used up.',
  ]);
  // The same evaluation twice needs no explanation.
  assert.deepEqual(explainDifferences(preview, preview, fmt), []);
  engine.free();
});

/** A fake fetch: answers from `answer(url, init)`, records every call. */
function fakeFetch(answer) {
  const calls = [];
  const f = async (url, init = {}) => {
    calls.push({ url: String(url), init });
    const a = await answer(String(url), init, calls.length);
    if (a instanceof Error) throw a;
    return new Response(a.body === undefined ? null : JSON.stringify(a.body), { status: a.status ?? 200, headers: a.headers ?? {} });
  };
  f.calls = calls;
  return f;
}
const sessionAnswer = (n, user = 'u-1001', ttlMs = 15 * 60e3) => ({
  body: { user_id: user, display_name: 'Ada', token: `token-${n}`, expires_at: new Date(Date.now() + ttlMs).toISOString() },
});

test('the session: a token from the backend on every call, a new one once on 401 SHOPPER_TOKEN_INVALID, then the answer as it is', { timeout: 30_000 }, async () => {
  let sessions = 0;
  let invalid = 1; // the Worker refuses this many tokens
  const fetcher = fakeFetch((url, init) => {
    if (url.endsWith('/session')) return sessionAnswer(++sessions);
    if (init.headers?.authorization && invalid-- > 0) return { status: 401, body: { error: { code: 'SHOPPER_TOKEN_INVALID', message: 'expired' } } };
    return { body: { auth: init.headers?.authorization ?? null } };
  });
  const storage = memoryStorage();
  const session = createSession('https://shop.example', { storage, fetcher });
  await session.refresh();
  assert.equal(session.source(), 'backend');
  assert.equal(session.userId(), 'u-1001');
  assert.equal(session.displayName(), 'Ada');
  // The identity (never the token) is kept for offline previews.
  assert.deepEqual(JSON.parse(storage.getItem('edge-coupons:identity')), { user_id: 'u-1001', display_name: 'Ada' });

  // Refused once: a new token, the request again, with it.
  const res = await session.fetch('/coupons?user=u-1001');
  assert.deepEqual(await res.json(), { auth: 'Bearer token-2' });
  assert.equal(sessions, 2);
  // Refused twice: the second answer is the caller's, no loop.
  invalid = 2;
  const twice = await session.fetch('/coupons');
  assert.equal(twice.status, 401);
  assert.equal(sessions, 3);
  // Another 401 (a route that needs a token, say) is not a reason to fetch a new one.
  const other = fakeFetch((url) => (url.endsWith('/session') ? sessionAnswer(1) : { status: 401, body: { error: { code: 'SHOPPER_TOKEN_REQUIRED' } } }));
  const s2 = createSession('https://shop.example', { storage: memoryStorage(), fetcher: other });
  await s2.refresh();
  assert.equal((await s2.fetch('/users/u-1001/context')).status, 401);
  assert.equal(other.calls.filter((c) => c.url.endsWith('/session')).length, 1);
  session.stop();
  s2.stop();
});

test('the session: renewed before it expires; without a backend, or when it does not answer, anonymous or the saved identity', { timeout: 30_000 }, async () => {
  // A token about to expire is replaced before a call goes out with it.
  let n = 0;
  const fetcher = fakeFetch((url, init) => (url.endsWith('/session') ? sessionAnswer(++n, 'u-1001', n === 1 ? 10e3 : 15 * 60e3) : { body: { auth: init.headers?.authorization } }));
  const session = createSession('https://shop.example', { storage: memoryStorage(), fetcher });
  await session.refresh();
  assert.deepEqual(await (await session.fetch('/evaluate')).json(), { auth: 'Bearer token-2' });
  session.stop();

  // No backend: anonymous, and calls go out without a token.
  const anonymousFetch = fakeFetch((url, init) => ({ body: { auth: init.headers?.authorization ?? null } }));
  const anonymous = createSession(null, { storage: memoryStorage(), fetcher: anonymousFetch });
  await anonymous.refresh();
  assert.equal(anonymous.source(), 'anonymous');
  assert.equal(anonymous.userId(), null);
  assert.deepEqual(await (await anonymous.fetch('/evaluate')).json(), { auth: null });
  assert.deepEqual(anonymousFetch.calls.map((c) => c.url), ['/evaluate']);

  // The backend does not answer: the identity saved by an earlier visit (previews only, no token),
  // or anonymous on a first visit; a call meanwhile does not wait for the backend again.
  const down = fakeFetch((url) => (url.endsWith('/session') ? new TypeError('Failed to fetch') : { body: {} }));
  const storage = memoryStorage();
  const first = createSession('https://shop.example', { storage, fetcher: down });
  await first.refresh();
  assert.equal(first.source(), 'anonymous');
  assert.match(first.problem(), /Failed to fetch/);
  await first.fetch('/coupons');
  assert.equal(down.calls.filter((c) => c.url.endsWith('/session')).length, 1, 'asked again only after a while');
  first.stop();
  storage.setItem('edge-coupons:identity', JSON.stringify({ user_id: 'u-1001', display_name: 'Ada' }));
  const changes = [];
  const returning = createSession('https://shop.example', { storage, fetcher: down, onChange: (s) => changes.push(s.source()) });
  await returning.refresh();
  assert.equal(returning.source(), 'saved');
  assert.equal(returning.userId(), 'u-1001');
  assert.equal(returning.token(), null);
  assert.deepEqual(changes, ['saved']);
  returning.stop();
});

test('placing an order: the reservation carries the key and the exact body; the backend\'s answers classified (paid, declined, lost, busy)', { timeout: 30_000 }, async () => {
  const storage = memoryStorage();
  const attempt = attemptFor(requestFor({ 'runner-42': 1 }, ['SHOES15']), storage);
  const reserve = fakeFetch(() => ({ status: 201, body: { redemption: { id: 'rd_1', status: 'reserved' }, evaluation: {} } }));
  const placed = await sendAttempt(attempt, reserve);
  assert.equal(placed.kind, 'placed');
  assert.equal(placed.body.redemption.status, 'reserved');
  assert.equal(reserve.calls[0].url, '/redemptions');
  assert.equal(reserve.calls[0].init.headers['idempotency-key'], attempt.key);
  assert.equal(reserve.calls[0].init.body, attempt.body);

  const answers = [
    [{ body: { order: { order_id: attempt.orderId, status: 'paid', redemption: { id: 'rd_1', status: 'redeemed' } } } }, 'placed'],
    [{ status: 402, body: { error: { code: 'PAYMENT_FAILED', message: 'declined' } } }, 'payment-failed'],
    [new TypeError('Failed to fetch'), 'network'],
    [{ status: 502, body: { error: { code: 'WORKER_UNREACHABLE', message: 'no answer' } } }, 'retryable'],
    [{ status: 409, body: { error: { code: 'HOLD_LAPSED', message: 'lapsed' } } }, 'refused'],
  ];
  for (const [answer, kind] of answers) {
    const backend = fakeFetch(() => answer);
    const outcome = await payOrder('https://shop.example', 'rd_1', backend);
    assert.equal(outcome.kind, kind, JSON.stringify(answer));
    assert.equal(backend.calls[0].url, 'https://shop.example/orders');
    assert.deepEqual(JSON.parse(backend.calls[0].init.body), { redemption_id: 'rd_1' });
  }
});
