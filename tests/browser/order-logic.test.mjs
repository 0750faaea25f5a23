// The page's order logic (www/order.js) in Node, where a browser cannot easily reach: one key per
// attempt across retries, and the explanation of confirmed amounts that differ from the preview
// (the Worker answers 201 with them when a coupon's budget ran low or it dropped out at the edge).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadPackage, signJws, testJwks } from '../node/helpers.mjs';
import { ROOT, copyPackage } from './server.mjs';
import { requestFor } from './helpers.mjs';

copyPackage(); // www/order.js imports www/engine.js, which imports www/pkg/
const { attemptFor, explainDifferences, finishAttempt } = await import('../../www/order.js');

const memoryStorage = () => {
  const m = new Map();
  return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k) };
};

test('an order attempt keeps its key and exact body until it is finished; another cart is another attempt', { timeout: 30_000 }, () => {
  const storage = memoryStorage();
  const request = requestFor({ 'runner-42': 1 }, ['SHOES15']);
  const first = attemptFor(request, storage);
  assert.match(first.key, /^[0-9a-f-]{36}$/);
  assert.deepEqual(JSON.parse(first.body), { ...request, order_id: first.orderId });
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
