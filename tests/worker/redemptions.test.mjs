// POST /redemptions and its life: idempotent replays, holds, confirm, revert, lapse, and the
// counters each leaves behind (read back from the coupon's Durable Object).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, shop, cart, counters, eventually, manifest, publish, redeem, sleep, start, START_TIMEOUT, STOP_TIMEOUT, TEST_TIMEOUT } from './helpers.mjs';

const coupons = [
  { id: 'ten-off', name: '10 off', status: 'active', codes: { type: 'static', code: 'TENOFF' },
    reward: { type: 'fixed_amount', amount: '10.00', target: { type: 'order' } }, limits: { per_user: 2, global: 50 } },
  { id: 'once', name: 'Once per user', status: 'active', codes: { type: 'static', code: 'ONCE' },
    reward: { type: 'percentage', percent: '5', target: { type: 'order' } }, limits: { per_user: 1 } },
  { id: 'budget', name: 'Budget', status: 'active', codes: { type: 'static', code: 'BUDGET' },
    reward: { type: 'fixed_amount', amount: '30.00', target: { type: 'order' } }, limits: { budget: '50.00' } },
  { id: 'auto-ship', name: 'Free shipping', status: 'active', codes: { type: 'automatic' },
    reward: { type: 'percentage', percent: '100', target: { type: 'shipping' } }, limits: { global: 1000 } },
];

let server;
before(async () => {
  server = await start();
  await publish(server, manifest(coupons));
}, START_TIMEOUT);
after(() => server?.stop(), STOP_TIMEOUT);

const body = (user, codes, extra = {}) => ({ order_id: `order-${user}`, cart: cart('100.00', { shipping: { amount: '5.00' } }), user: { id: user }, codes, ...extra });

describe('redeem', TEST_TIMEOUT, () => {
  test('redeems at the edge price, counts every applied coupon, replays byte for byte', async () => {
    const res = await redeem(server, 'key-r1', body('r1', ['TENOFF']));
    assert.equal(res.status, 201);
    const { redemption, evaluation } = res.json;
    assert.equal(redemption.status, 'redeemed');
    assert.match(redemption.id, /^rd_[0-9a-f]{32}$/);
    assert.equal(res.headers.get('location'), `/redemptions/${redemption.id}`);
    assert.deepEqual(redemption.coupons.map((c) => [c.coupon_id, c.discount]), [['auto-ship', '5.00'], ['ten-off', '10.00']]);
    assert.equal(evaluation.totals.total, '90.00');
    const replay = await redeem(server, 'key-r1', body('r1', ['TENOFF']));
    assert.equal(replay.status, 201);
    assert.equal(replay.text, res.text);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    const c = await counters(server, 'ten-off', 'r1');
    assert.deepEqual([c.redemptions, c.discount_given, c.user_redemptions], [1, '10.00', 1]);
    // With an engine that labels periods, the use counts under its day, week and month.
    if (evaluation.periods) assert.deepEqual(c.periods, Object.fromEntries(Object.values(evaluation.periods).map((l) => [l, 1])));
    assert.equal((await counters(server, 'auto-ship')).redemptions, 1);
  });

  test('the same key with another body is 409 IDEMPOTENCY_KEY_REUSED and changes nothing', async () => {
    const res = await redeem(server, 'key-r1', body('r1', ['TENOFF'], { order_id: 'another' }));
    assert.equal(res.status, 409);
    assert.equal(res.json.error.code, 'IDEMPOTENCY_KEY_REUSED');
    assert.equal((await counters(server, 'ten-off')).redemptions, 1);
  });

  test('missing or bad Idempotency-Key 400; missing order_id 400; bad hold 400', async () => {
    let res = await call(server, 'POST', '/redemptions', { body: body('r2', []) });
    assert.equal(res.status, 400);
    assert.equal(res.json.error.code, 'IDEMPOTENCY_KEY_REQUIRED');
    res = await redeem(server, 'k'.repeat(256), body('r2', []));
    assert.equal(res.json.error.code, 'IDEMPOTENCY_KEY_REQUIRED');
    res = await redeem(server, 'key-r2', { cart: cart() });
    assert.equal(res.status, 400);
    assert.deepEqual([res.json.error.code, res.json.error.path], ['INVALID_REQUEST', 'order_id']);
    for (const hold of ['15 minutes', 'PT', 'P30D', 15]) {
      res = await redeem(server, 'key-r2', body('r2', [], { hold }));
      assert.deepEqual([res.status, res.json.error.path], [400, 'hold'], String(hold));
    }
    // Nothing was stored for those: the key still works with a good body.
    res = await redeem(server, 'key-r2', body('r2', ['ONCE']));
    assert.equal(res.status, 201);
  });

  test('a rejected code refuses the whole redemption (409 CODES_REJECTED) and consumes nothing', async () => {
    const before = (await counters(server, 'ten-off')).redemptions;
    const res = await redeem(server, 'key-r3', body('r2', ['TENOFF', 'ONCE']));
    assert.equal(res.status, 409);
    assert.equal(res.json.error.code, 'CODES_REJECTED');
    assert.deepEqual(res.json.error.rejected.map((r) => [r.code, r.reason.code]), [['ONCE', 'USER_LIMIT_REACHED']]);
    assert.equal((await counters(server, 'ten-off')).redemptions, before);
    const replay = await redeem(server, 'key-r3', body('r2', ['TENOFF', 'ONCE']));
    assert.equal(replay.text, res.text);
  });

  test('a budget is never overspent: the last use is capped, then refused', async () => {
    const a = await redeem(server, 'key-b1', body('b1', ['BUDGET']));
    assert.equal(a.json.redemption.coupons.find((c) => c.coupon_id === 'budget').discount, '30.00');
    const b = await redeem(server, 'key-b2', body('b2', ['BUDGET']));
    assert.equal(b.status, 201);
    assert.equal(b.json.redemption.coupons.find((c) => c.coupon_id === 'budget').discount, '20.00');
    const c = await redeem(server, 'key-b3', body('b3', ['BUDGET']));
    assert.equal(c.status, 409);
    assert.equal(c.json.error.rejected[0].reason.code, 'BUDGET_EXHAUSTED');
    assert.equal((await counters(server, 'budget')).discount_given, '50.00');
  });

  test('concurrent duplicates of one key make one use and one answer', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => redeem(server, 'key-dup', body('dup', ['TENOFF']))));
    assert.ok(results.every((r) => r.status === 201));
    assert.equal(new Set(results.map((r) => r.text)).size, 1);
    assert.equal((await counters(server, 'ten-off', 'dup')).user_redemptions, 1);
  });
});

describe('revert, hold, confirm, lapse', TEST_TIMEOUT, () => {
  test('revert gives the uses back exactly once; a second revert answers the same', async () => {
    const made = await redeem(server, 'key-v1', body('v1', ['TENOFF']));
    const { id } = made.json.redemption;
    const before = await counters(server, 'ten-off', 'v1');
    const first = await shop(server, 'POST', `/redemptions/${id}/revert`);
    assert.equal(first.status, 200);
    assert.equal(first.json.redemption.status, 'reverted');
    const second = await shop(server, 'POST', `/redemptions/${id}/revert`);
    assert.equal(second.text, first.text);
    const afterRevert = await counters(server, 'ten-off', 'v1');
    assert.equal(afterRevert.redemptions, before.redemptions - 1);
    assert.equal(afterRevert.user_redemptions, 0);
    assert.equal((await shop(server, 'GET', `/redemptions/${id}`)).json.redemption.status, 'reverted');
    const confirm = await shop(server, 'POST', `/redemptions/${id}/confirm`);
    assert.equal(confirm.json.error.code, 'REDEMPTION_REVERTED');
    // The replay of the original request still returns the original answer.
    assert.equal((await redeem(server, 'key-v1', body('v1', ['TENOFF']))).text, made.text);
  });

  test('unknown redemption ids are 404', async () => {
    for (const id of ['rd_00000000000000000000000000000000', 'nope']) {
      const res = await shop(server, 'POST', `/redemptions/${id}/revert`);
      assert.equal(res.status, 404);
      assert.equal(res.json.error.code, 'REDEMPTION_NOT_FOUND');
    }
  });

  test('a hold reserves uses until confirmed; confirm twice answers the same; confirm without hold is 409', async () => {
    const res = await redeem(server, 'key-h1', body('h1', ['ONCE'], { hold: 'PT15M' }));
    assert.equal(res.status, 201);
    assert.equal(res.json.redemption.status, 'reserved');
    assert.ok(Date.parse(res.json.redemption.expires_at) - Date.now() > 14 * 60e3);
    assert.equal((await counters(server, 'once', 'h1')).user_redemptions, 1);
    const { id } = res.json.redemption;
    const c1 = await shop(server, 'POST', `/redemptions/${id}/confirm`);
    assert.equal(c1.status, 200);
    assert.equal(c1.json.redemption.status, 'redeemed');
    assert.equal((await shop(server, 'POST', `/redemptions/${id}/confirm`)).text, c1.text);
    const plain = await redeem(server, 'key-h2', body('h2', ['ONCE']));
    const c2 = await shop(server, 'POST', `/redemptions/${plain.json.redemption.id}/confirm`);
    assert.equal(c2.status, 409);
    assert.equal(c2.json.error.code, 'NOT_RESERVED');
  });

  test('a hold that is not confirmed lapses and gives its uses back; confirm after is 409 HOLD_LAPSED', async () => {
    const res = await redeem(server, 'key-l1', body('l1', ['ONCE'], { hold: 'PT2S' }));
    assert.equal(res.json.redemption.status, 'reserved');
    assert.equal((await counters(server, 'once', 'l1')).user_redemptions, 1);
    const lapsed = await eventually(async () => (await counters(server, 'once', 'l1')).user_redemptions === 0, 8000);
    assert.ok(lapsed, 'the alarm gave the use back');
    const { id } = res.json.redemption;
    assert.equal((await shop(server, 'GET', `/redemptions/${id}`)).json.redemption.status, 'lapsed');
    const confirm = await shop(server, 'POST', `/redemptions/${id}/confirm`);
    assert.equal(confirm.status, 409);
    assert.equal(confirm.json.error.code, 'HOLD_LAPSED');
    const revert = await shop(server, 'POST', `/redemptions/${id}/revert`);
    assert.equal(revert.json.redemption.status, 'lapsed');
    assert.equal((await counters(server, 'once', 'l1')).user_redemptions, 0, 'revert after a lapse gives nothing back twice');
    // The use is free again, once the KV copy the edge prices with has caught up (about a second).
    const free = await eventually(async () => {
      const res = await shop(server, 'POST', '/evaluate', { body: { cart: cart(), user: { id: 'l1' }, codes: ['ONCE'] } });
      return res.json.applied.some((a) => a.coupon_id === 'once');
    }, 5000);
    assert.ok(free);
    assert.equal((await redeem(server, 'key-l2', body('l1', ['ONCE']))).status, 201);
  });

  test('KV copies: the usage snapshot reaches previews within about a second, and the ledger has every event', async () => {
    await redeem(server, 'key-k1', body('k1', ['ONCE']));
    const refused = await eventually(async () => {
      const res = await shop(server, 'POST', '/evaluate', { body: { cart: cart(), user: { id: 'k1' }, codes: ['ONCE'] } });
      return res.json.rejected[0]?.reason.code === 'USER_LIMIT_REACHED' ? res : null;
    }, 5000);
    assert.ok(refused, 'the preview sees the use from the KV copy');
    const ledger = await eventually(async () => {
      const res = await call(server, 'GET', '/admin/coupons/once/ledger', { headers: { authorization: `Bearer ${(await import('./helpers.mjs')).ADMIN_TOKEN}` } });
      const kinds = res.json.events.map((e) => e.kind);
      return kinds.includes('lapse') && kinds.includes('confirm') ? res.json.events : null;
    }, 5000);
    assert.ok(ledger, 'ledger events for reserve, confirm, lapse');
    const keys = ledger.map((e) => e.key);
    assert.equal(new Set(keys).size, keys.length);
    assert.ok(keys.every((k) => /^ledger:once:\d{4}-\d{2}-\d{2}T[\d:.]+Z:rd_[0-9a-f]{32}:(redeem|reserve|confirm|revert|lapse|abort)$/.test(k)));
  });

  test('GET /stats counts redemptions, users, rollbacks, discount and GMV per period', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const res = await call(server, 'GET', `/stats/ten-off?from=${today}&to=${today}&granularity=day`);
    assert.equal(res.status, 200);
    const [day] = res.json.periods;
    const c = await counters(server, 'ten-off');
    assert.equal(day.period, today);
    assert.equal(day.redemptions, c.redemptions);
    assert.equal(day.discount_given, c.discount_given);
    assert.equal(day.rollbacks, 1);
    assert.equal(day.redeeming_users, 2); // r1 and dup still hold a use; v1 reverted
    assert.equal(day.gross_merchandise_value, (100 * c.redemptions).toFixed(2));
    const month = await call(server, 'GET', `/stats/ten-off?from=${today}&to=${today}&granularity=month`);
    assert.equal(month.json.periods[0].period, today.slice(0, 7));
    for (const q of ['granularity=year', 'from=yesterday', `from=${today}&to=2000-01-01`]) {
      const bad = await call(server, 'GET', `/stats/ten-off?${q}`);
      assert.equal(bad.status, 400, q);
      assert.equal(bad.json.error.code, 'INVALID_QUERY');
    }
    assert.equal((await call(server, 'GET', '/stats/nope')).status, 404);
  });
});
