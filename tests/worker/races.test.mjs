// Faults that race: redemptions racing a pause, and a revert racing a confirm. Whatever order the
// requests land in, every answer is a clear success or a clear refusal, and the counters read back
// afterwards match the successes exactly.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { admin, call, shop, cart, counters, manifest, publish, redeem, start, START_TIMEOUT, STOP_TIMEOUT, TEST_TIMEOUT } from './helpers.mjs';

const coupons = [
  { id: 'racy', name: 'Racy', status: 'active', codes: { type: 'static', code: 'RACY' },
    reward: { type: 'fixed_amount', amount: '5.00', target: { type: 'order' } }, limits: { per_user: 1, global: 1000 } },
];

let server;
before(async () => {
  server = await start();
  await publish(server, manifest(coupons));
}, START_TIMEOUT);
after(() => server?.stop(), STOP_TIMEOUT);

const body = (user, extra = {}) => ({ order_id: `order-${user}`, cart: cart('50.00'), user: { id: user }, codes: ['RACY'], ...extra });
const ip = (n) => ({ 'cf-connecting-ip': `198.51.100.${n}` });

test('redemptions racing a pause: each is redeemed or refused PAUSED, and the counter equals the redeemed', TEST_TIMEOUT, async () => {
  const before = (await counters(server, 'racy')).redemptions;
  const orders = Array.from({ length: 30 }, (_, n) => redeem(server, `race-pause-${n}`, body(`p${n}`), ip(n)));
  const pause = admin(server, 'PUT', '/admin/coupons/racy/status', { body: { status: 'paused' } });
  const [paused, ...answers] = await Promise.all([pause, ...orders]);
  assert.equal(paused.status, 200);
  let redeemed = 0;
  for (const res of answers) {
    if (res.status === 201) {
      redeemed += 1;
      assert.ok(res.json.redemption.coupons.some((c) => c.coupon_id === 'racy'));
    } else {
      assert.equal(res.status, 409, res.text);
      const reasons = (res.json.error.rejected ?? []).map((r) => r.reason.code);
      assert.deepEqual(reasons, ['PAUSED'], res.text);
    }
  }
  assert.equal((await counters(server, 'racy')).redemptions, before + redeemed, 'the counter holds exactly the redeemed');
  // Once the pause is answered, nothing more gets through, and nothing is counted.
  const late = await redeem(server, 'race-pause-late', body('late'), ip(99));
  assert.equal(late.status, 409);
  assert.equal(late.json.error.rejected[0].reason.code, 'PAUSED');
  assert.equal((await counters(server, 'racy')).redemptions, before + redeemed);
  await admin(server, 'PUT', '/admin/coupons/racy/status', { body: { status: 'active' } });
});

test('a revert racing a confirm: the hold ends reverted, and its use is given back exactly once', TEST_TIMEOUT, async () => {
  for (let n = 0; n < 5; n++) {
    const user = `rc${n}`;
    const before = (await counters(server, 'racy')).redemptions;
    const held = await redeem(server, `race-hold-${n}`, body(user, { hold: 'PT10M' }), ip(n));
    assert.equal(held.status, 201, held.text);
    assert.equal(held.json.redemption.status, 'reserved');
    const { id } = held.json.redemption;
    const [confirm, revert] = await Promise.all([
      shop(server, 'POST', `/redemptions/${id}/confirm`),
      shop(server, 'POST', `/redemptions/${id}/revert`),
    ]);
    // The revert always wins in the end; the confirm either came first (200) or found it reverted.
    assert.equal(revert.status, 200, revert.text);
    assert.equal(revert.json.redemption.status, 'reverted');
    assert.ok(
      confirm.status === 200 || (confirm.status === 409 && confirm.json.error.code === 'REDEMPTION_REVERTED'),
      confirm.text,
    );
    assert.equal((await shop(server, 'GET', `/redemptions/${id}`)).json.redemption.status, 'reverted');
    const c = await counters(server, 'racy', user);
    assert.equal(c.redemptions, before, 'the use is given back');
    assert.equal(c.user_redemptions, 0, 'and only once');
  }
});
