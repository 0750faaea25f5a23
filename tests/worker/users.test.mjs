// Trusted user context: the Worker prices with the stored profile (PUT /admin/users/{id}, or NDJSON
// in bulk) and stored assignments; a request's user properties, segments, events and assignments
// are ignored, so a shopper cannot claim a tier, a segment, an event or a clean order history.
// GET /users/{id}/context and GET /coupons give the page what it needs to price the same offline.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadPackage, testJwks } from '../node/helpers.mjs';
import { admin, call, shop, cart, manifest, publish, redeem, rfc3339, start, START_TIMEOUT, STOP_TIMEOUT, TEST_TIMEOUT } from './helpers.mjs';

const coupons = [
  { id: 'gold-fee', name: 'Gold: 5.00 off', status: 'active', codes: { type: 'automatic' },
    audience: { type: 'segment', segment: 'gold' },
    reward: { type: 'fixed_amount', amount: '5.00', target: { type: 'order' } } },
  { id: 'gold-code', name: 'Gold code', status: 'active', codes: { type: 'static', code: 'GOLD20' },
    audience: { type: 'segment', segment: 'gold' }, limits: { per_user: 5 },
    reward: { type: 'percentage', percent: '20', target: { type: 'order' } } },
  { id: 'staff', name: 'Staff', status: 'active', codes: { type: 'static', code: 'STAFF' },
    audience: { type: 'segment', segment: 'staff' },
    reward: { type: 'fixed_amount', amount: '3.00', target: { type: 'order' } } },
  { id: 'first-order', name: 'First order', status: 'active', codes: { type: 'static', code: 'FIRST' },
    conditions: { fact: 'user.properties.orders_count', op: 'eq', value: 0 },
    reward: { type: 'fixed_amount', amount: '7.00', target: { type: 'order' } } },
  { id: 'app', name: 'App installed', status: 'active', codes: { type: 'static', code: 'APP10' },
    activation: { type: 'event', event: 'app_install' },
    reward: { type: 'percentage', percent: '10', target: { type: 'order' } } },
  { id: 'gift', name: 'Gift', status: 'active', codes: { type: 'bulk', prefix: 'GIFT', length: 12 },
    audience: { type: 'assigned' }, reward: { type: 'fixed_amount', amount: '10.00', target: { type: 'order' } } },
  { id: 'vip', name: 'VIP', status: 'active', codes: { type: 'static', code: 'VIP20' }, audience: { type: 'assigned' },
    reward: { type: 'percentage', percent: '20', target: { type: 'order' } } },
];
const segments = {
  gold: { fact: 'user.properties.tier', op: 'eq', value: 'gold' },
  staff: { fact: 'user.segments', op: 'contains', value: 'staff' },
};

let server;
let engine;
before(async () => {
  const [s, pkg] = await Promise.all([start(), loadPackage()]);
  server = s;
  await publish(server, manifest(coupons, { segments }));
  engine = pkg.CouponEngine.fromSignedManifest((await call(server, 'GET', '/manifest')).text, testJwks(), {});
}, START_TIMEOUT);
after(() => server?.stop(), STOP_TIMEOUT);

let ipSeq = 0;
const ip = () => ({ 'cf-connecting-ip': `203.0.113.${++ipSeq}` });
const evaluate = (body) => shop(server, 'POST', '/evaluate', { body, headers: ip() });
const putUser = (id, profile) => admin(server, 'PUT', `/admin/users/${encodeURIComponent(id)}`, { body: profile });
const ids = (res) => res.json.applied.map((a) => a.coupon_id).sort();
const reasons = (res) => Object.fromEntries(res.json.rejected.map((r) => [r.code, r.reason.code]));
const claims = {
  properties: { tier: 'gold', orders_count: 0 }, segments: ['staff'],
  events: [{ name: 'app_install', at: '2026-01-01T00:00:00Z' }],
};
const ALL_CODES = ['GOLD20', 'STAFF', 'FIRST', 'APP10'];

describe('a client cannot claim facts about its user', TEST_TIMEOUT, () => {
  test('tier, segments, events and orders claimed in the request give nothing at the edge', async () => {
    await putUser('silver-1', { properties: { tier: 'silver', orders_count: 3 } });
    for (const user of [{ id: 'silver-1', ...claims }, { id: 'nobody-stored', ...claims }, { ...claims }]) {
      const res = await evaluate({ cart: cart(), codes: ALL_CODES, user });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(ids(res), [], JSON.stringify(user));
      // Without an id nobody is asking: segment coupons need sign-in rather than blame the audience.
      const audience = user.id ? 'NOT_IN_AUDIENCE' : 'SIGN_IN_REQUIRED';
      assert.equal(reasons(res).GOLD20, audience);
      assert.equal(reasons(res).STAFF, audience);
      assert.ok(reasons(res).APP10, 'no app_install event is stored');
      assert.equal(reasons(res).FIRST, 'USER_CONDITION_FAILED');
    }
    const red = await redeem(server, 'claim-1', { order_id: 'o-claim', cart: cart(), codes: ['GOLD20'], user: { id: 'silver-1', ...claims } }, ip());
    assert.equal(red.status, 409);
    assert.equal(red.json.error.code, 'CODES_REJECTED');
    assert.equal(red.json.error.rejected[0].reason.code, 'NOT_IN_AUDIENCE');
    assert.deepEqual(red.json.error.evaluation.applied, [], 'no automatic gold discount either');
  });

  test('the stored profile does get its tier, segment, event and first-order discounts, at evaluate and at commit', async () => {
    const stored = await putUser('gold-1', {
      properties: { tier: 'gold', orders_count: 0 }, segments: ['staff'], events: [{ name: 'app_install', at: rfc3339(Date.now() - 60e3) }],
    });
    assert.equal(stored.status, 200, stored.text);
    assert.equal(stored.json.user_id, 'gold-1');
    assert.equal(stored.json.properties.tier, 'gold');
    // The client says silver with past orders: the stored profile wins.
    const body = { cart: cart(), codes: ALL_CODES, user: { id: 'gold-1', properties: { tier: 'silver', orders_count: 9 }, segments: [] } };
    const res = await evaluate(body);
    assert.deepEqual(ids(res), ['app', 'first-order', 'gold-code', 'gold-fee', 'staff']);
    const red = await redeem(server, 'gold-1', { order_id: 'o-gold', ...body }, ip());
    assert.equal(red.status, 201, red.text);
    assert.deepEqual(red.json.redemption.coupons.map((c) => c.coupon_id).sort(), ['app', 'first-order', 'gold-code', 'gold-fee', 'staff']);
    assert.equal(red.json.evaluation.totals.discount, res.json.totals.discount);
  });

  test('a changed profile takes effect: the tier taken away, the discount goes', async () => {
    await putUser('gold-2', { properties: { tier: 'gold' } });
    assert.deepEqual(ids(await evaluate({ cart: cart(), user: { id: 'gold-2' } })), ['gold-fee']);
    await putUser('gold-2', { properties: { tier: 'bronze' } });
    assert.deepEqual(ids(await evaluate({ cart: cart(), user: { id: 'gold-2', properties: { tier: 'gold' } } })), []);
    const del = await admin(server, 'DELETE', '/admin/users/gold-2');
    assert.deepEqual(del.json, { user_id: 'gold-2', deleted: true });
    assert.equal((await admin(server, 'GET', '/admin/users/gold-2')).json.error.code, 'USER_NOT_FOUND');
  });
});

describe('storing profiles', TEST_TIMEOUT, () => {
  test('PUT replaces the whole profile; GET reads it; bad shapes and values are refused, nothing stored', async () => {
    await putUser('shape-1', { properties: { tier: 'gold' }, segments: ['staff'] });
    await putUser('shape-1', { properties: { tier: 'silver' } });
    const got = await admin(server, 'GET', '/admin/users/shape-1');
    assert.equal(got.status, 200);
    assert.deepEqual(got.json.properties, { tier: 'silver' });
    assert.equal(got.json.segments, undefined, 'a PUT replaces, it does not merge');
    assert.match(got.json.updated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    for (const [profile, code, path] of [
      [{ tier: 'gold' }, 'INVALID_REQUEST', 'tier'],
      [{ properties: [] }, 'INVALID_REQUEST', 'properties'],
      [{ segments: 'staff' }, 'INVALID_REQUEST', 'segments'],
      [{ events: [{ name: 'app_install', at: 'yesterday' }] }, 'INVALID_TIME', 'events[0].at'],
    ]) {
      const res = await putUser('shape-1', profile);
      assert.equal(res.status, 400, JSON.stringify(profile));
      assert.equal(res.json.error.code, code);
      assert.equal(res.json.error.path, path);
    }
    assert.deepEqual((await admin(server, 'GET', '/admin/users/shape-1')).json.properties, { tier: 'silver' });
    const long = await putUser('x'.repeat(129), {});
    assert.equal(long.status, 400);
    const anon = await call(server, 'PUT', '/admin/users/shape-1', { body: { properties: { tier: 'gold' } } });
    assert.equal(anon.status, 401);
  });

  test('bulk NDJSON: every line stored, or none when one is bad', async () => {
    const ndjson = (rows) => ({ body: rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n'), headers: { 'content-type': 'application/x-ndjson' } });
    let res = await admin(server, 'POST', '/admin/users', ndjson([
      { user_id: 'bulk-1', properties: { tier: 'gold' } }, { user_id: 'bulk-2', segments: ['staff'] }, '',
    ]));
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json.users, 2);
    assert.deepEqual(ids(await evaluate({ cart: cart(), user: { id: 'bulk-1' } })), ['gold-fee']);
    res = await admin(server, 'POST', '/admin/users', ndjson([{ user_id: 'bulk-3', properties: { tier: 'gold' } }, { user_id: 'bulk-4', tier: 'gold' }]));
    assert.equal(res.status, 400);
    assert.equal(res.json.error.line, 2);
    res = await admin(server, 'POST', '/admin/users', ndjson([{ user_id: 'bulk-3' }, '{"user_id":']));
    assert.equal(res.json.error.code, 'INVALID_JSON');
    assert.equal((await admin(server, 'GET', '/admin/users/bulk-3')).status, 404, 'nothing of a refused upload is stored');
  });
});

describe('the page prices with the same context', TEST_TIMEOUT, () => {
  test('GET /users/{id}/context is the context the edge prices with; the engine given it agrees with /evaluate', async () => {
    await putUser('page-1', { properties: { tier: 'gold', orders_count: 0 } });
    const at = rfc3339(Date.now() - 3600e3);
    const up = await admin(server, 'POST', '/admin/assignments', {
      body: `${JSON.stringify({ coupon_id: 'gift', user_id: 'page-1', assigned_at: at, code: 'gift-aaaa-1111' })}\n`,
      headers: { 'content-type': 'application/x-ndjson' } });
    assert.equal(up.status, 201, up.text);
    const ctx = await shop(server, 'GET', '/users/page-1/context');
    assert.equal(ctx.status, 200);
    assert.equal(ctx.headers.get('cache-control'), 'private, no-store');
    assert.deepEqual(ctx.json, {
      id: 'page-1', properties: { tier: 'gold', orders_count: 0 },
      assignments: [{ coupon_id: 'gift', assigned_at: at, code: 'gift-aaaa-1111' }],
    });
    assert.deepEqual((await shop(server, 'GET', '/users/nobody/context')).json, { id: 'nobody' });
    const body = { cart: cart(), codes: ['FIRST', 'GOLD20'], user: { id: 'page-1' } };
    const edge = await evaluate(body);
    assert.deepEqual(edge.json, engine.evaluate({ ...body, user: ctx.json, now: edge.json.now }));
  });

  test('GET /coupons: assigned coupons carry assigned_at and the user\'s code; with them the page prices offline', async () => {
    const at = rfc3339(Date.now() - 7200e3);
    await admin(server, 'POST', '/admin/assignments', {
      body: [{ coupon_id: 'gift', user_id: 'tray-1', assigned_at: at, code: 'gift-bbbb-2222' }, { coupon_id: 'vip', user_id: 'tray-1', assigned_at: at }]
        .map((r) => JSON.stringify(r)).join('\n'),
      headers: { 'content-type': 'application/x-ndjson' } });
    // A bulk code applies at the edge only once issued (docs/worker.md, bulk codes).
    const codes = await admin(server, 'POST', '/admin/coupons/gift/codes', { body: 'code\nGIFT-BBBB-2222\n', headers: { 'content-type': 'text/csv' } });
    assert.equal(codes.status, 201, codes.text);
    const tray = await shop(server, 'GET', '/coupons?user=tray-1');
    assert.equal(tray.status, 200);
    const byId = Object.fromEntries(tray.json.map((t) => [t.coupon_id, t]));
    assert.equal(byId.gift.assigned_at, at);
    assert.equal(byId.gift.code, 'GIFTBBBB2222');
    assert.equal(byId.vip.assigned_at, at);
    assert.equal(byId.vip.code, 'VIP20');
    assert.ok(!('assigned_at' in byId['first-order']), 'only assigned coupons carry assigned_at');
    // Offline: the assignments rebuilt from the tray price the cart exactly as the edge does.
    const assignments = tray.json.filter((t) => t.assigned_at).map((t) => ({ coupon_id: t.coupon_id, assigned_at: t.assigned_at, ...(t.code ? { code: t.code } : {}) }));
    const body = { cart: cart(), codes: ['GIFT-BBBB-2222', 'VIP20'], user: { id: 'tray-1' } };
    const edge = await evaluate(body);
    assert.deepEqual(edge.json.applied.map((a) => a.coupon_id).sort(), ['gift', 'vip']);
    const offline = engine.evaluate({ ...body, user: { id: 'tray-1', assignments }, now: edge.json.now });
    assert.deepEqual(offline.totals, edge.json.totals);
    assert.deepEqual(offline.applied.map((a) => [a.coupon_id, a.discount]), edge.json.applied.map((a) => [a.coupon_id, a.discount]));
  });
});
