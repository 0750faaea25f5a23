// Operations and abuse: pause / resume / end at the edge, bulk codes (uploaded or generated with a
// MAC), assignments, and the failed-attempt lockout.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadPackage, testJwks } from '../node/helpers.mjs';
import { admin, call, shop, cart, codeHash, eventually, generatedCode, manifest, publish, redeem, start, START_TIMEOUT, STOP_TIMEOUT, TEST_TIMEOUT } from './helpers.mjs';

const coupons = [
  { id: 'save10', name: 'Save 10', status: 'active', codes: { type: 'static', code: 'SAVE10' },
    reward: { type: 'percentage', percent: '10', target: { type: 'order' } } },
  { id: 'ship', name: 'Free shipping', status: 'active', codes: { type: 'automatic' },
    reward: { type: 'percentage', percent: '100', target: { type: 'shipping' } }, limits: { global: 100000 } },
  { id: 'open-auto', name: 'Unlimited automatic', status: 'active', codes: { type: 'automatic' },
    conditions: { fact: 'cart.subtotal', op: 'gte', value: '1000.00' },
    reward: { type: 'fixed_amount', amount: '1.00', target: { type: 'order' } } },
  { id: 'partner', name: 'Partner codes', status: 'active', codes: { type: 'bulk', prefix: 'PART', length: 10 },
    reward: { type: 'fixed_amount', amount: '5.00', target: { type: 'order' } } },
  { id: 'gen', name: 'Generated codes', status: 'active', codes: { type: 'bulk', prefix: 'GEN', length: 16, check: true },
    reward: { type: 'fixed_amount', amount: '7.00', target: { type: 'order' } } },
  { id: 'vip', name: 'VIP', status: 'active', codes: { type: 'static', code: 'VIP20' }, audience: { type: 'assigned' },
    reward: { type: 'percentage', percent: '20', target: { type: 'order' } } },
];

let server;
let engine;
before(async () => {
  const [s, pkg] = await Promise.all([start({ ATTEMPT_LIMIT: '5', ATTEMPT_LOCKOUT_S: '120' }), loadPackage()]);
  server = s;
  await publish(server, manifest(coupons));
  engine = pkg.CouponEngine.fromSignedManifest((await call(server, 'GET', '/manifest')).text, testJwks(), {});
}, START_TIMEOUT);
after(() => server?.stop(), STOP_TIMEOUT);

let ipSeq = 0;
// Each test comes from its own client IP, so the attempt limiter of one does not affect another.
const ip = () => ({ 'cf-connecting-ip': `198.51.100.${++ipSeq}` });
const evaluate = (body, headers = ip()) => shop(server, 'POST', '/evaluate', { body, headers });
const withShipping = (price = '50.00') => cart(price, { shipping: { amount: '5.00' } });

describe('pause, resume, end at the edge', TEST_TIMEOUT, () => {
  test('a paused code coupon is rejected with PAUSED in the engine shape; resume restores it', async () => {
    let res = await admin(server, 'PUT', '/admin/coupons/save10/status', { body: { status: 'paused' } });
    assert.equal(res.status, 200);
    assert.equal(res.json.status, 'paused');
    res = await evaluate({ cart: withShipping(), codes: ['save-10'] });
    assert.deepEqual(res.json.rejected, [{ code: 'SAVE10', coupon_id: 'save10', reason: { code: 'PAUSED', message: 'this coupon is paused for now', status: 'paused' } }]);
    assert.ok(!res.json.applied.some((a) => a.coupon_id === 'save10'));
    assert.equal(res.json.totals.discount, '5.00', 'only the free shipping');
    const tray = await shop(server, 'GET', '/coupons?user=someone');
    assert.ok(!tray.json.some((t) => t.coupon_id === 'save10'));
    const red = await redeem(server, 'pause-1', { order_id: 'p1', cart: withShipping(), codes: ['SAVE10'] }, ip());
    assert.equal(red.status, 409);
    assert.equal(red.json.error.rejected[0].reason.code, 'PAUSED');
    await admin(server, 'PUT', '/admin/coupons/save10/status', { body: { status: 'active' } });
    res = await evaluate({ cart: withShipping(), codes: ['SAVE10'] });
    assert.ok(res.json.applied.some((a) => a.coupon_id === 'save10'));
  });

  test('an ended automatic coupon with a limit is left out by the engine; one without limits cannot be paused', async () => {
    await admin(server, 'PUT', '/admin/coupons/ship/status', { body: { status: 'ended' } });
    let res = await evaluate({ cart: withShipping() });
    assert.deepEqual(res.json.applied, []);
    assert.deepEqual(res.json.rejected, []);
    await admin(server, 'PUT', '/admin/coupons/ship/status', { body: { status: 'active' } });
    res = await evaluate({ cart: withShipping() });
    assert.deepEqual(res.json.applied.map((a) => a.coupon_id), ['ship']);
    const refused = await admin(server, 'PUT', '/admin/coupons/open-auto/status', { body: { status: 'paused' } });
    assert.equal(refused.status, 422);
    assert.equal(refused.json.error.code, 'OVERRIDE_UNSUPPORTED');
    const bad = await admin(server, 'PUT', '/admin/coupons/save10/status', { body: { status: 'sleeping' } });
    assert.equal(bad.status, 400);
    const missing = await admin(server, 'PUT', '/admin/coupons/nope/status', { body: { status: 'paused' } });
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.code, 'COUPON_NOT_FOUND');
  });
});

describe('bulk codes', TEST_TIMEOUT, () => {
  test('uploaded codes (CSV) apply once; unknown, unissued and used codes all look like an unknown code', async () => {
    const up = await admin(server, 'POST', '/admin/coupons/partner/codes', {
      body: 'code\r\npart-aaaa-01\r\n"PART BBBB02"\r\n', headers: { 'content-type': 'text/csv' } });
    assert.equal(up.status, 201, up.text);
    assert.equal(up.json.imported, 2);
    const unknown = engine.evaluate({ cart: cart(), codes: ['NOPE'], now: new Date().toISOString() }).rejected[0].reason;
    let res = await evaluate({ cart: cart(), codes: ['PARTAAAA01'] });
    assert.equal(res.json.applied[0].coupon_id, 'partner');
    assert.equal(res.json.applied[0].verification, 'full');
    res = await evaluate({ cart: cart(), codes: ['PARTZZZZ99'] }); // right format, never issued
    assert.deepEqual(res.json.rejected, [{ code: 'PARTZZZZ99', reason: unknown }]);
    assert.deepEqual(res.json.applied, []);
    const first = await redeem(server, 'bulk-1', { order_id: 'b1', cart: cart(), codes: ['PARTAAAA01'], user: { id: 'bulk-a' } }, ip());
    assert.equal(first.status, 201);
    const second = await redeem(server, 'bulk-2', { order_id: 'b2', cart: cart(), codes: ['PARTAAAA01'], user: { id: 'bulk-b' } }, ip());
    assert.equal(second.status, 409);
    assert.deepEqual(second.json.error.rejected, [{ code: 'PARTAAAA01', reason: unknown }]);
    // After a revert the code is free again.
    await shop(server, 'POST', `/redemptions/${first.json.redemption.id}/revert`);
    const freed = await eventually(async () => (await evaluate({ cart: cart(), codes: ['PARTAAAA01'] })).json.applied.length === 1, 5000);
    assert.ok(freed);
    assert.equal((await redeem(server, 'bulk-3', { order_id: 'b3', cart: cart(), codes: ['PARTAAAA01'], user: { id: 'bulk-b' } }, ip())).status, 201);
  });

  test('couponctl import JSON uploads; bad rows refuse the whole upload', async () => {
    const rows = [{ key: `bulkcode:partner:${codeHash('partner', 'PARTCCCC03')}`, value: 'partner' }];
    let up = await admin(server, 'POST', '/admin/coupons/partner/codes', { body: rows });
    assert.equal(up.status, 201);
    assert.equal((await evaluate({ cart: cart(), codes: ['PARTCCCC03'] })).json.applied[0]?.coupon_id, 'partner');
    up = await admin(server, 'POST', '/admin/coupons/partner/codes', { body: [{ key: 'bulkcode:other:x', value: 'other' }] });
    assert.equal(up.status, 422);
    assert.equal(up.json.error.code, 'INVALID_CODES');
    up = await admin(server, 'POST', '/admin/coupons/partner/codes', { body: 'code\nWRONG12345\n', headers: { 'content-type': 'text/csv' } });
    assert.equal(up.status, 422);
    up = await admin(server, 'POST', '/admin/coupons/save10/codes', { body: 'code\nX\n', headers: { 'content-type': 'text/csv' } });
    assert.equal(up.json.error.code, 'NOT_BULK_COUPON');
    up = await admin(server, 'POST', '/admin/coupons/partner/codes', { body: 'code\n"PARTDDDD04\n', headers: { 'content-type': 'text/csv' } });
    assert.deepEqual([up.status, up.json.error.code, up.json.error.line], [400, 'INVALID_CSV', 2]);
    const many = Array.from({ length: 501 }, (_, i) => `PART${String(i).padStart(6, '0')}`).join('\n');
    up = await admin(server, 'POST', '/admin/coupons/partner/codes', { body: `code\n${many}\n`, headers: { 'content-type': 'text/csv' } });
    assert.deepEqual([up.status, up.json.error.code], [413, 'TOO_MANY_ROWS']);
  });

  test('generated codes are recognised by their MAC without any upload', async () => {
    const good = generatedCode('GEN', '2345ABCD');
    let res = await evaluate({ cart: cart(), codes: [good] });
    assert.equal(res.json.applied[0]?.coupon_id, 'gen', JSON.stringify(res.json.rejected));
    // Same format and a valid check character, but a MAC made with another secret.
    const forged = generatedCode('GEN', '2345ABCD', 'ZZECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8');
    assert.notEqual(forged, good);
    res = await evaluate({ cart: cart(), codes: [forged] });
    assert.deepEqual(res.json.applied, []);
    assert.equal(res.json.rejected[0].reason.code, 'UNKNOWN_CODE');
  });
});

describe('assignments', TEST_TIMEOUT, () => {
  test('NDJSON assignments feed user.assignments; the client cannot claim its own', async () => {
    const claimed = await evaluate({ cart: cart(), codes: ['VIP20'], user: { id: 'vip-1', assignments: [{ coupon_id: 'vip', assigned_at: '2026-01-01T00:00:00Z' }] } });
    assert.equal(claimed.json.rejected[0].reason.code, 'NOT_ASSIGNED');
    const at = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const up = await admin(server, 'POST', '/admin/assignments', {
      body: `{"coupon_id":"vip","user_id":"vip-1","assigned_at":"${at}"}\n{"coupon_id":"vip","user_id":"vip-2","assigned_at":"${at}"}\n`,
      headers: { 'content-type': 'application/x-ndjson' } });
    assert.equal(up.status, 201, up.text);
    assert.deepEqual(up.json, { assigned: 2, users: 2 });
    const res = await evaluate({ cart: cart(), codes: ['VIP20'], user: { id: 'vip-1' } });
    assert.equal(res.json.applied[0]?.coupon_id, 'vip');
    const tray = await shop(server, 'GET', '/coupons?user=vip-2');
    assert.ok(tray.json.some((t) => t.coupon_id === 'vip'));
    const stats = await call(server, 'GET', `/stats/vip?from=${at.slice(0, 10)}&to=${at.slice(0, 10)}`);
    assert.equal(stats.json.periods[0].codes_distributed, 2);
    const bad = await admin(server, 'POST', '/admin/assignments', { body: '{"coupon_id":"vip"}\n', headers: { 'content-type': 'application/x-ndjson' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.line, 1);
  });
});

describe('failed attempts', TEST_TIMEOUT, () => {
  test('after 5 failed codes an IP is locked out with 429 and Retry-After, even for valid codes', async () => {
    const from = ip();
    for (let i = 0; i < 4; i++) {
      const res = await evaluate({ cart: cart(), codes: [`WRONG${i}`] }, from);
      assert.equal(res.status, 200);
    }
    const fifth = await evaluate({ cart: cart(), codes: ['WRONG4'] }, from);
    assert.equal(fifth.status, 429);
    assert.equal(fifth.json.error.code, 'CODE_ATTEMPTS_LOCKED');
    const retry = Number(fifth.headers.get('retry-after'));
    assert.ok(retry > 100 && retry <= 120, String(retry));
    const valid = await evaluate({ cart: cart(), codes: ['SAVE10'] }, from);
    assert.equal(valid.status, 429);
    const red = await redeem(server, 'locked-1', { order_id: 'x', cart: cart(), codes: ['SAVE10'] }, from);
    assert.equal(red.status, 429);
    // Another IP is not affected; a cart without codes is not limited.
    assert.equal((await evaluate({ cart: cart(), codes: ['SAVE10'] })).status, 200);
    assert.equal((await evaluate({ cart: cart() }, from)).status, 200);
  });

  test('a user is locked out across IPs', async () => {
    for (let i = 0; i < 5; i++) await evaluate({ cart: cart(), codes: [`BAD${i}`], user: { id: 'guesser' } });
    const res = await evaluate({ cart: cart(), codes: ['SAVE10'], user: { id: 'guesser' } });
    assert.equal(res.status, 429);
  });
});
