// Every route and its errors, against the real Worker in workerd (wrangler dev).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadPackage, testJwks } from '../node/helpers.mjs';
import { admin, call, shop, cart, demoManifest, manifest, publish, sign, start, START_TIMEOUT, STOP_TIMEOUT, TEST_TIMEOUT } from './helpers.mjs';

let server;
let engineMod;
before(async () => {
  [server, engineMod] = await Promise.all([start(), loadPackage()]);
}, START_TIMEOUT);
after(() => server?.stop(), STOP_TIMEOUT);

describe('manifest publishing', TEST_TIMEOUT, () => {
  test('no manifest yet: 503 NO_MANIFEST', async () => {
    const res = await call(server, 'GET', '/manifest');
    assert.equal(res.status, 503);
    assert.equal(res.json.error.code, 'NO_MANIFEST');
  });

  test('admin routes need the token (401) and compare it exactly', async () => {
    const jws = sign(demoManifest());
    for (const authorization of [undefined, 'Bearer wrong', 'Basic x', `Bearer test-admin-token-012345678`]) {
      const res = await call(server, 'PUT', '/admin/manifest', { body: jws, headers: { 'content-type': 'application/jose', ...(authorization ? { authorization } : {}) } });
      assert.equal(res.status, 401, authorization);
      assert.equal(res.json.error.code, 'UNAUTHORIZED');
    }
  });

  test('a manifest that fails verification is refused with the engine code (422) and never served', async () => {
    const jws = sign(demoManifest());
    const [h, p, s] = jws.split('.');
    // A whole character in the middle of the signature: six bits that are all signature.
    const tampered = `${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
    let res = await admin(server, 'PUT', '/admin/manifest', { body: tampered, headers: { 'content-type': 'application/jose' } });
    assert.equal(res.status, 422);
    assert.equal(res.json.error.code, 'MANIFEST_SIGNATURE_INVALID');
    const expired = { ...demoManifest(), issued_at: '2020-01-01T00:00:00Z', expires_at: '2020-02-01T00:00:00Z' };
    res = await admin(server, 'PUT', '/admin/manifest', { body: sign(expired), headers: { 'content-type': 'application/jose' } });
    assert.equal(res.json.error.code, 'MANIFEST_EXPIRED');
    res = await admin(server, 'PUT', '/admin/manifest', { body: 'not a jws', headers: { 'content-type': 'application/jose' } });
    assert.equal(res.json.error.code, 'MANIFEST_MALFORMED');
    res = await admin(server, 'PUT', '/admin/manifest', { body: sign(demoManifest()), headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 415);
    assert.equal(res.json.error.code, 'UNSUPPORTED_MEDIA_TYPE');
    assert.equal((await call(server, 'GET', '/manifest')).status, 503);
  });

  test('publish, then GET /manifest with ETag and 304, GET /jwks', async () => {
    const jws = sign(demoManifest());
    const pub = await admin(server, 'PUT', '/admin/manifest', { body: jws, headers: { 'content-type': 'application/jose' } });
    assert.equal(pub.status, 201);
    assert.equal(pub.json.manifest_id, 'demo-shop');
    assert.match(pub.json.version, /^demo-shop@[0-9a-f]{32}$/);
    const res = await call(server, 'GET', '/manifest');
    assert.equal(res.status, 200);
    assert.equal(res.text, jws);
    assert.equal(res.headers.get('content-type'), 'application/jose');
    const etag = res.headers.get('etag');
    assert.equal(etag, pub.json.etag);
    const again = await call(server, 'GET', '/manifest', { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.text, '');
    const other = await call(server, 'GET', '/manifest', { headers: { 'if-none-match': '"other"' } });
    assert.equal(other.status, 200);
    const jwks = await call(server, 'GET', '/jwks');
    assert.deepEqual(jwks.json, testJwks());
  });
});

describe('a published manifest that expires', TEST_TIMEOUT, () => {
  test('is no longer served or used once expired (503 MANIFEST_EXPIRED)', async () => {
    const soon = { ...demoManifest(), expires_at: new Date(Date.now() + 3000).toISOString().replace(/\.\d{3}Z$/, 'Z') };
    await publish(server, soon);
    assert.equal((await call(server, 'GET', '/manifest')).status, 200);
    await new Promise((r) => setTimeout(r, 3500));
    for (const [method, path, body] of [['GET', '/manifest'], ['POST', '/evaluate', { cart: cart() }], ['GET', '/coupons?user=x']]) {
      const res = await call(server, method, path, { body });
      assert.equal(res.status, 503, path);
      assert.equal(res.json.error.code, 'MANIFEST_EXPIRED', path);
    }
    await publish(server, demoManifest());
    assert.equal((await call(server, 'GET', '/manifest')).status, 200);
  });
});

describe('routing and bad input', TEST_TIMEOUT, () => {
  test('unknown route 404, wrong method 405 with Allow', async () => {
    let res = await call(server, 'GET', '/nope');
    assert.equal(res.status, 404);
    assert.equal(res.json.error.code, 'NOT_FOUND');
    res = await call(server, 'DELETE', '/evaluate');
    assert.equal(res.status, 405);
    assert.equal(res.json.error.code, 'METHOD_NOT_ALLOWED');
    assert.equal(res.headers.get('allow'), 'POST');
  });

  test('malformed JSON 400, wrong content type 415, too large 413, not an object 400', async () => {
    let res = await shop(server, 'POST', '/evaluate', { body: '{"cart":', headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 400);
    assert.equal(res.json.error.code, 'INVALID_JSON');
    res = await shop(server, 'POST', '/evaluate', { body: '{}', headers: { 'content-type': 'text/plain' } });
    assert.equal(res.status, 415);
    assert.equal(res.json.error.code, 'UNSUPPORTED_MEDIA_TYPE');
    res = await shop(server, 'POST', '/evaluate', { body: JSON.stringify({ cart: cart(), pad: 'x'.repeat(300 * 1024) }) });
    assert.equal(res.status, 413);
    assert.equal(res.json.error.code, 'BODY_TOO_LARGE');
    res = await shop(server, 'POST', '/evaluate', { body: '[1,2]' });
    assert.equal(res.status, 400);
    assert.equal(res.json.error.code, 'INVALID_REQUEST');
  });

  test('engine errors keep their code, path and status', async () => {
    let res = await shop(server, 'POST', '/evaluate', { body: { cart: { currency: 'USD', lines: [{ id: 'l1', product_id: 'p', quantity: 1, unit_price: 12.5 }] } } });
    assert.equal(res.status, 400);
    assert.equal(res.json.error.code, 'INVALID_AMOUNT');
    assert.equal(res.json.error.path, 'cart.lines[0].unit_price');
    // A number a float would round to 1 is read from its digits, as natively (issue 14).
    const exact = (extra) => `{${extra}"cart":{"currency":"USD","lines":[{"id":"l1","product_id":"p","quantity":1.0000000000000001,"unit_price":"12.50"}]}}`;
    for (const [path, body, headers] of [['/evaluate', exact(''), {}], ['/redemptions', exact('"order_id":"o-exact",'), { 'idempotency-key': 'exact-quantity-1' }]]) {
      res = await shop(server, 'POST', path, { body, headers: { 'content-type': 'application/json', ...headers } });
      assert.equal(res.status, 400, `${path}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error.code, 'INVALID_QUANTITY', path);
      assert.equal(res.json.error.path, 'cart.lines[0].quantity', path);
    }
    res = await shop(server, 'POST', '/evaluate', { body: { cart: cart('10.00', { currency: 'EUR' }) } });
    assert.equal(res.status, 422);
    assert.equal(res.json.error.code, 'CURRENCY_MISMATCH');
    res = await shop(server, 'POST', '/evaluate', { body: { cart: cart(), codes: Array.from({ length: 25 }, (_, i) => `C${i}`) } });
    assert.equal(res.status, 413);
    assert.equal(res.json.error.code, 'LIMIT_EXCEEDED');
  });
});

describe('evaluate and tray', TEST_TIMEOUT, () => {
  test('POST /evaluate is the engine result at the edge clock, ignoring client usage and now', async () => {
    await publish(server, demoManifest());
    const body = { cart: cart('100.00', { shipping: { amount: '5.00' } }), codes: ['shoes15', 'TENOFF', 'NOPE'], user: { id: 'eval-user' },
      now: '2000-01-01T00:00:00Z', usage: { coupons: { 'shoes-15': { redemptions: 10000 } } } };
    const res = await shop(server, 'POST', '/evaluate', { body });
    assert.equal(res.status, 200);
    const jws = (await call(server, 'GET', '/manifest')).text;
    const engine = engineMod.CouponEngine.fromSignedManifest(jws, testJwks(), {});
    const expected = engine.evaluate({ cart: body.cart, codes: body.codes, user: body.user, now: res.json.now });
    assert.deepEqual(res.json, expected);
    assert.ok(Math.abs(Date.parse(res.json.now) - Date.now()) < 60_000);
    assert.deepEqual(res.json.applied.map((a) => a.coupon_id).sort(), ['free-shipping-50', 'shoes-15', 'ten-off-75']);
  });

  test('X-Dev-Now outside dev mode is 400 DEV_CLOCK_DISABLED (the edge prices at its own clock)', async () => {
    for (const [method, path, body] of [['POST', '/evaluate', { cart: cart() }], ['GET', '/coupons']]) {
      const res = await call(server, method, path, { body, headers: { 'x-dev-now': '2026-12-05T10:00:00Z' } });
      assert.equal(res.status, 400, path);
      assert.equal(res.json.error.code, 'DEV_CLOCK_DISABLED');
    }
  });

  test('GET /coupons?user= lists the tray; without a user (anonymous) the coupons for everyone', async () => {
    const res = await shop(server, 'GET', '/coupons?user=tray-user');
    assert.equal(res.status, 200);
    assert.ok(res.json.some((t) => t.coupon_id === 'shoes-15'));
    assert.ok(!res.json.some((t) => t.coupon_id === 'team-25'), 'hidden coupons are never listed');
    const anonymous = await call(server, 'GET', '/coupons');
    assert.equal(anonymous.status, 200);
    assert.ok(anonymous.json.some((t) => t.coupon_id === 'shoes-15'));
  });
});
