// Exactness under load and restarts: 1,000 concurrent redemptions from 300 users on a coupon with
// a global limit of 100 and a per-user limit of 1; then a server restart in the middle of a run.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call, cart, counters, manifest, publish, redeem, start } from './helpers.mjs';

const LIMIT_REASONS = new Set(['GLOBAL_LIMIT_REACHED', 'USER_LIMIT_REACHED']);
const coupons = [
  { id: 'hot', name: 'Hot deal', status: 'active', codes: { type: 'static', code: 'HOT' },
    reward: { type: 'percentage', percent: '10', target: { type: 'order' } }, limits: { global: 100, per_user: 1 } },
  { id: 'warm', name: 'Warm deal', status: 'active', codes: { type: 'static', code: 'WARM' },
    reward: { type: 'fixed_amount', amount: '1.00', target: { type: 'order' } }, limits: { global: 150 } },
];

let server;
before(async () => {
  server = await start();
  await publish(server, manifest(coupons));
});
after(() => server?.stop());

const body = (user, code, n) => ({ order_id: `o-${n}`, cart: cart('20.00'), user: { id: user }, codes: [code] });

test('1,000 concurrent redemptions, 300 users, global 100, per user 1: exactly 100 redeemed', async () => {
  const results = await Promise.all(Array.from({ length: 1000 }, (_, n) => redeem(server, `hot-${n}`, body(`u${n % 300}`, 'HOT', n))));
  const ok = results.filter((r) => r.status === 201);
  const refused = results.filter((r) => r.status !== 201);
  assert.equal(ok.length, 100);
  for (const r of refused) {
    assert.equal(r.status, 409, r.text);
    const reasons = r.json.error.rejected.map((x) => x.reason.code);
    assert.equal(reasons.length, 1);
    assert.ok(LIMIT_REASONS.has(reasons[0]), reasons[0]);
  }
  const users = ok.map((r) => r.json.evaluation.applied.length && r.json.redemption.order_id);
  assert.equal(new Set(users).size, 100);
  const winners = new Set(ok.map((r, i) => r.json.redemption.id));
  assert.equal(winners.size, 100);
  const c = await counters(server, 'hot');
  assert.equal(c.redemptions, 100);
  assert.equal(c.discount_given, '200.00');
  // No user holds more than one use.
  const perUser = new Map();
  results.forEach((r, n) => { if (r.status === 201) perUser.set(n % 300, (perUser.get(n % 300) ?? 0) + 1); });
  assert.ok([...perUser.values()].every((v) => v === 1));
});

test('a restart in the middle of a run loses nothing and counts nothing twice', async (t) => {
  const N = 300;
  const requests = Array.from({ length: N }, (_, n) => () => redeem(server, `warm-${n}`, body(`w${n}`, 'WARM', n)));
  // Fire everything, and stop the server while those requests are in flight.
  const inflight = Promise.allSettled(requests.map((r) => r()));
  await new Promise((r) => setTimeout(r, 300));
  await server.restart();
  const first = await inflight;
  const crashed = first.filter((r) => r.status === 'rejected' || r.value.status >= 500).length;
  t.diagnostic(`requests without an answer because of the restart: ${crashed} of ${N}`);
  assert.ok(crashed > 0, 'the restart happened while requests were in flight');
  // Clients retry every request with its key (as they must when they got no answer).
  const retried = await Promise.all(requests.map((r) => r()));
  const ok = retried.filter((r) => r.status === 201).length;
  for (const r of retried) {
    if (r.status !== 201) assert.equal(r.json.error.rejected[0].reason.code, 'GLOBAL_LIMIT_REACHED', r.text);
  }
  // Answers that arrived before the restart are replayed unchanged after it.
  first.forEach((r, n) => {
    if (r.status === 'fulfilled' && r.value.status < 500) assert.equal(retried[n].text, r.value.text, `key warm-${n}`);
  });
  const c = await counters(server, 'warm');
  assert.equal(c.redemptions, ok, `crashed in flight: ${crashed}`);
  assert.equal(c.discount_given, `${ok}.00`);
  assert.equal(ok, 150);
  // And the persisted counters survive a clean restart too.
  await server.restart();
  assert.equal((await counters(server, 'warm')).redemptions, 150);
  assert.equal((await counters(server, 'hot')).redemptions, 100);
  const again = await call(server, 'POST', '/redemptions', { body: body('w1', 'WARM', 1), headers: { 'idempotency-key': 'warm-1' } });
  assert.equal(again.text, retried[1].text);
});
