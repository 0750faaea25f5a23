// Exactness under load and restarts: 1,000 concurrent redemptions from 300 users on a coupon with
// a global limit of 100 and a per-user limit of 1; then a server restart in the middle of a run.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cart, counters, manifest, publish, redeem, start, START_TIMEOUT, STOP_TIMEOUT, TEST_TIMEOUT } from './helpers.mjs';

const LIMIT_REASONS = new Set(['GLOBAL_LIMIT_REACHED', 'USER_LIMIT_REACHED']);
const coupons = [
  { id: 'hot', name: 'Hot deal', status: 'active', codes: { type: 'static', code: 'HOT' },
    reward: { type: 'percentage', percent: '10', target: { type: 'order' } }, limits: { global: 100, per_user: 1 } },
  { id: 'a-open', name: 'Open', status: 'active', codes: { type: 'static', code: 'OPEN' },
    reward: { type: 'fixed_amount', amount: '1.00', target: { type: 'order' } }, limits: { global: 100000 } },
  { id: 'b-scarce', name: 'Scarce', status: 'active', codes: { type: 'static', code: 'SCARCE' },
    reward: { type: 'fixed_amount', amount: '2.00', target: { type: 'order' } }, limits: { global: 1 } },
  { id: 'warm', name: 'Warm deal', status: 'active', codes: { type: 'static', code: 'WARM' },
    reward: { type: 'fixed_amount', amount: '1.00', target: { type: 'order' } }, limits: { global: 150 } },
];

let server;
before(async () => {
  server = await start();
  await publish(server, manifest(coupons));
}, START_TIMEOUT);
after(() => server?.stop(), STOP_TIMEOUT);

const body = (user, code, n) => ({ order_id: `o-${n}`, cart: cart('20.00'), user: { id: user }, codes: [code] });

test('1,000 concurrent redemptions, 300 users, global 100, per user 1: exactly 100 redeemed', TEST_TIMEOUT, async (t) => {
  const results = await Promise.all(Array.from({ length: 1000 }, (_, n) => redeem(server, `hot-${n}`, body(`u${n % 300}`, 'HOT', n))));
  const ok = results.filter((r) => r.status === 201);
  const refused = results.filter((r) => r.status !== 201);
  assert.equal(ok.length, 100);
  const atCommit = refused.filter((r) => r.json?.error?.code === 'COUPON_REFUSED').length;
  t.diagnostic(`refused at pricing: ${refused.length - atCommit}; refused by the counter at commit (a race lost): ${atCommit}`);
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

test('two coupons, one scarce: one redemption holds both, and no refused one keeps a use of the other', TEST_TIMEOUT, async (t) => {
  // a-open commits before b-scarce (coupon-id order); only one request can have b-scarce.
  const results = await Promise.all(Array.from({ length: 100 }, (_, n) =>
    redeem(server, `pair-${n}`, { order_id: `p-${n}`, cart: cart('20.00'), user: { id: `p${n}` }, codes: ['OPEN', 'SCARCE'] })));
  assert.equal(results.filter((r) => r.status === 201).length, 1);
  const atCommit = results.filter((r) => r.json?.error?.code === 'COUPON_REFUSED');
  t.diagnostic(`refused at the counter after a-open was taken: ${atCommit.length}; refused at pricing: ${results.length - 1 - atCommit.length}`);
  for (const r of results.filter((x) => x.status !== 201)) {
    assert.equal(r.status, 409);
    assert.ok(['CODES_REJECTED', 'COUPON_REFUSED'].includes(r.json.error.code));
    assert.equal(r.json.error.rejected[0].reason.code, 'GLOBAL_LIMIT_REACHED');
  }
  assert.equal((await counters(server, 'b-scarce')).redemptions, 1);
  assert.equal((await counters(server, 'a-open')).redemptions, 1, 'every a-open use of a refused redemption was given back');
});

test('a restart in the middle of a run loses nothing and counts nothing twice', TEST_TIMEOUT, async (t) => {
  const N = 300;
  // Two coupons per request: a-open is taken first (coupon-id order), so every crashed or refused
  // attempt must give its a-open use back for the count below to hold.
  const twoCodes = (n) => ({ ...body(`w${n}`, 'WARM', n), codes: ['WARM', 'OPEN'] });
  const openBefore = (await counters(server, 'a-open')).redemptions;
  const requests = Array.from({ length: N }, (_, n) => () => redeem(server, `warm-${n}`, twoCodes(n)));
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
  assert.equal((await counters(server, 'a-open')).redemptions, openBefore + ok);
  // And the persisted counters survive a clean restart too.
  await server.restart();
  assert.equal((await counters(server, 'warm')).redemptions, 150);
  assert.equal((await counters(server, 'hot')).redemptions, 100);
  const again = await redeem(server, 'warm-1', twoCodes(1));
  assert.equal(again.text, retried[1].text);
});
