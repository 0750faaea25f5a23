// A Worker deployed without its secrets fails closed: no admin token, no admin routes (and, without
// an ingest token either, no POST /events); a JWKS that is not JSON is the Worker's own fault (500),
// and nothing is served or priced without a manifest.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call, cart, demoManifest, sign, START_TIMEOUT, STOP_TIMEOUT, TEST_TIMEOUT } from './helpers.mjs';
import { startWorker } from './server.mjs';

let server;
before(async () => {
  server = await startWorker({ vars: { MANIFEST_JWKS: 'not json', ADMIN_TOKEN: '' } });
}, START_TIMEOUT);
after(() => server?.stop(), STOP_TIMEOUT);

test('no ADMIN_TOKEN: admin routes answer 503 ADMIN_DISABLED, whatever the bearer', TEST_TIMEOUT, async () => {
  for (const authorization of [undefined, 'Bearer ', 'Bearer anything']) {
    const res = await call(server, 'PUT', '/admin/manifest', {
      body: sign(demoManifest()), headers: { 'content-type': 'application/jose', ...(authorization ? { authorization } : {}) } });
    assert.equal(res.status, 503);
    assert.equal(res.json.error.code, 'ADMIN_DISABLED');
  }
});

test('no INGEST_TOKEN and no ADMIN_TOKEN: POST /events answers 503 INGEST_DISABLED', TEST_TIMEOUT, async () => {
  for (const authorization of [undefined, 'Bearer ', 'Bearer anything']) {
    const res = await call(server, 'POST', '/events', { body: { id: 'e1', user_id: 'u1', name: 'signup' }, headers: authorization ? { authorization } : {} });
    assert.equal(res.status, 503);
    assert.equal(res.json.error.code, 'INGEST_DISABLED');
  }
});

test('a JWKS that is not JSON: /jwks is 500 KEYSET_INVALID; nothing is priced without a manifest', TEST_TIMEOUT, async () => {
  const jwks = await call(server, 'GET', '/jwks');
  assert.equal(jwks.status, 500);
  assert.equal(jwks.json.error.code, 'KEYSET_INVALID');
  const res = await call(server, 'POST', '/evaluate', { body: { cart: cart() } });
  assert.equal(res.status, 503);
  assert.equal(res.json.error.code, 'NO_MANIFEST');
  const red = await call(server, 'POST', '/redemptions', { body: { order_id: 'o', cart: cart(), hold: 'PT5M' }, headers: { 'idempotency-key': 'k' } });
  assert.equal(red.status, 503);
  assert.equal(red.json.error.code, 'NO_MANIFEST');
});
