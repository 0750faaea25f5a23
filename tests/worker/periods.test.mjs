// Calendar limits (per_day, per_user_per_day): counted by the coupon's counter under the labels
// of the engine's `periods`, and re-checked at commit. Needs an engine with period limits.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadPackage, signJws, testJwks } from '../node/helpers.mjs';
import { cart, counters, manifest, publish, redeem, start, START_TIMEOUT, STOP_TIMEOUT, TEST_TIMEOUT } from './helpers.mjs';

const coupons = [
  { id: 'daily', name: 'Daily', status: 'active', codes: { type: 'static', code: 'DAILY' },
    reward: { type: 'fixed_amount', amount: '2.00', target: { type: 'order' } }, limits: { per_day: 3, per_user_per_day: 1 } },
];

let server;
let supported = true;
before(async () => {
  const { CouponEngine } = await loadPackage();
  try {
    CouponEngine.fromSignedManifest(signJws(manifest(coupons)), testJwks(), {});
  } catch (err) {
    if (err.code !== 'MANIFEST_INVALID') throw err;
    supported = false; // the engine in pkg/ predates period limits
    return;
  }
  server = await start();
  await publish(server, manifest(coupons));
}, START_TIMEOUT);
after(() => server?.stop(), STOP_TIMEOUT);

const body = (user, n) => ({ order_id: `d-${n}`, cart: cart(), user: { id: user }, codes: ['DAILY'] });

test('per_day and per_user_per_day limits hold at commit', TEST_TIMEOUT, async (t) => {
  if (!supported) return t.skip('pkg/ has no period limits yet');
  assert.equal((await redeem(server, 'd-1', body('a', 1))).status, 201);
  const twice = await redeem(server, 'd-2', body('a', 2));
  assert.equal(twice.status, 409);
  assert.equal(twice.json.error.rejected[0].reason.code, 'PERIOD_LIMIT_REACHED');
  const results = await Promise.all(['b', 'c', 'd', 'e', 'f'].map((u, i) => redeem(server, `d-${u}`, body(u, i + 3))));
  assert.equal(results.filter((r) => r.status === 201).length, 2);
  for (const r of results.filter((x) => x.status !== 201)) assert.equal(r.json.error.rejected[0].reason.code, 'PERIOD_LIMIT_REACHED');
  const c = await counters(server, 'daily', 'a');
  assert.equal(c.redemptions, 3);
  const day = results.find((r) => r.status === 201).json.evaluation.periods.day;
  assert.equal(c.periods[day], 3);
  assert.equal(c.user_periods[day], 1);
});
