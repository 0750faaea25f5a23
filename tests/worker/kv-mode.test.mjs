// COUNTER_MODE=kv: the same API with counters kept in KV (a soft cap, docs/worker.md). Sequential
// use must still count exactly; holds and code pools are refused.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { admin, call, shop, cart, counters, manifest, publish, redeem, start, START_TIMEOUT, STOP_TIMEOUT, TEST_TIMEOUT } from './helpers.mjs';

const coupons = [
  { id: 'kv-once', name: 'Once', status: 'active', codes: { type: 'static', code: 'ONCE' },
    reward: { type: 'fixed_amount', amount: '3.00', target: { type: 'order' } }, limits: { per_user: 1, global: 2 } },
  { id: 'kv-welcome', name: 'Welcome', status: 'active', codes: { type: 'static', code: 'HELLO' }, audience: { type: 'assigned' },
    reward: { type: 'fixed_amount', amount: '3.00', target: { type: 'order' } }, distribution: [{ event: 'signup' }] },
  { id: 'kv-pooled', name: 'Pooled', status: 'active', codes: { type: 'bulk', prefix: 'KP', length: 10 }, audience: { type: 'assigned' },
    reward: { type: 'fixed_amount', amount: '3.00', target: { type: 'order' } }, distribution: [{ event: 'signup' }] },
  { id: 'kv-app', name: 'App', status: 'active', codes: { type: 'static', code: 'APP' }, activation: { type: 'event', event: 'app_install' },
    reward: { type: 'fixed_amount', amount: '3.00', target: { type: 'order' } } },
];

let server;
before(async () => {
  server = await start({ COUNTER_MODE: 'kv' });
  await publish(server, manifest(coupons));
}, START_TIMEOUT);
after(() => server?.stop(), STOP_TIMEOUT);

const body = (user, extra = {}) => ({ order_id: `o-${user}`, cart: cart(), user: { id: user }, codes: ['ONCE'], ...extra });

test('kv mode: redeem, limits, replay and revert against KV counters; holds refused', TEST_TIMEOUT, async () => {
  const a = await redeem(server, 'kv-1', body('a'));
  assert.equal(a.status, 201, a.text);
  assert.equal((await redeem(server, 'kv-1', body('a'))).text, a.text);
  const again = await redeem(server, 'kv-2', body('a'));
  assert.equal(again.status, 409);
  assert.equal(again.json.error.rejected[0].reason.code, 'USER_LIMIT_REACHED');
  assert.equal((await redeem(server, 'kv-3', body('b'))).status, 201);
  const full = await redeem(server, 'kv-4', body('c'));
  assert.equal(full.json.error.rejected[0].reason.code, 'GLOBAL_LIMIT_REACHED');
  const c = await counters(server, 'kv-once', 'a');
  assert.deepEqual([c.redemptions, c.discount_given, c.user_redemptions], [2, '6.00', 1]);
  const revert = await shop(server, 'POST', `/redemptions/${a.json.redemption.id}/revert`);
  assert.equal(revert.json.redemption.status, 'reverted');
  assert.equal((await shop(server, 'POST', `/redemptions/${a.json.redemption.id}/revert`)).text, revert.text);
  assert.equal((await counters(server, 'kv-once')).redemptions, 1);
  assert.equal((await redeem(server, 'kv-5', body('c'))).status, 201);
  const held = await redeem(server, 'kv-6', body('d', { hold: 'PT5M' }));
  assert.equal(held.status, 400);
  assert.equal(held.json.error.code, 'HOLD_UNSUPPORTED');
});

test('kv mode: events assign and replay over KV; code pools are refused, so pooled coupons are skipped', TEST_TIMEOUT, async () => {
  const up = await admin(server, 'POST', '/admin/coupons/kv-pooled/codes?pool=true', { body: 'KP-0000-AAAA\n', headers: { 'content-type': 'text/csv' } });
  assert.equal(up.status, 400);
  assert.equal(up.json.error.code, 'POOL_UNSUPPORTED');
  const event = { id: 'kv-evt-1', user_id: 'kv-user', name: 'signup' };
  const res = await admin(server, 'POST', '/events', { body: event });
  assert.equal(res.status, 201, res.text);
  assert.deepEqual(res.json.assigned.map((a) => a.coupon_id), ['kv-welcome']);
  assert.deepEqual(res.json.skipped.map((s) => [s.coupon_id, s.reason.code]), [['kv-pooled', 'CODE_POOL_EMPTY']]);
  const replay = await admin(server, 'POST', '/events', { body: event });
  assert.equal(replay.status, 200);
  assert.equal(replay.text, res.text);
  assert.equal((await admin(server, 'POST', '/events', { body: { ...event, name: 'other' } })).json.error.code, 'EVENT_ID_CONFLICT');
  const ctx = (await shop(server, 'GET', '/users/kv-user/context')).json;
  assert.deepEqual(ctx.assignments.map((a) => a.coupon_id), ['kv-welcome']);
  assert.deepEqual((await admin(server, 'GET', '/admin/coupons/kv-pooled/pool')).json, { coupon_id: 'kv-pooled', available: 0, given: 0 });
  // An activation is stored in the KV log and carried in the user context.
  const install = await admin(server, 'POST', '/events', { body: { id: 'kv-evt-2', user_id: 'kv-user', name: 'app_install' } });
  assert.deepEqual(install.json.activated, [{ coupon_id: 'kv-app', at: install.json.at }], install.text);
  assert.deepEqual((await shop(server, 'GET', '/users/kv-user/context')).json.activations, [{ coupon_id: 'kv-app', at: install.json.at }]);
});
