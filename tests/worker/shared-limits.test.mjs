// Limit groups and several code sources at the Worker (issue 17, points 4 and 5): a group's limits
// are counted by its own counter (`group:<name>`), exactly under concurrency like a coupon's; holds,
// confirm, revert and lapse give a group's uses back with the coupon's; the group's KV copy prices
// previews. Then the "20% off shoes" campaign of docs/examples/staff-and-newsletter-shoes.json end
// to end: the hidden code STAFF20 and uploaded newsletter codes of one coupon, one use per customer
// whichever code, one global count.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT } from './server.mjs';
import { admin, cart, counters, eventually, manifest, publish, redeem, rfc3339, shop, sleep, start, START_TIMEOUT, STOP_TIMEOUT, TEST_TIMEOUT } from './helpers.mjs';

let server;
before(async () => {
  server = await start();
}, START_TIMEOUT);
after(() => server?.stop(), STOP_TIMEOUT);

const pct = (percent) => ({ type: 'percentage', percent, target: { type: 'order' } });
const groupCounters = async (group, user) =>
  (await admin(server, 'GET', `/admin/groups/${group}/counters${user ? `?user=${encodeURIComponent(user)}` : ''}`)).json;
const LIMITS = new Set(['GLOBAL_LIMIT_REACHED', 'USER_LIMIT_REACHED']);
let winner; // a user who used the `duo` group in the first test

test('a limit group of 100 ends at exactly 100 under 300 concurrent redemptions of its two coupons', TEST_TIMEOUT, async (t) => {
  await publish(server, manifest([
    { id: 'duo-a', name: 'A', status: 'active', codes: { type: 'static', code: 'DUOA' }, reward: pct('10'), limits: { group: 'duo' } },
    { id: 'duo-b', name: 'B', status: 'active', codes: { type: 'static', code: 'DUOB' }, reward: pct('5'), limits: { group: 'duo' } },
    { id: 'solo', name: 'Solo', status: 'active', codes: { type: 'static', code: 'SOLO' }, reward: pct('1'), limits: { group: 'held' } },
  ], { limit_groups: { duo: { global: 100, per_user: 1 }, held: { global: 1 } } }));
  // 150 users, each sending one redemption with A and one with B at the same time.
  const N = 300;
  const results = await Promise.all(Array.from({ length: N }, (_, n) => redeem(server, `duo-${n}`, {
    order_id: `duo-${n}`, cart: cart('20.00'), user: { id: `d${Math.floor(n / 2)}` }, codes: [n % 2 ? 'DUOB' : 'DUOA'],
  })));
  const ok = results.filter((r) => r.status === 201);
  assert.equal(ok.length, 100, 'exactly the group limit');
  const atCommit = results.filter((r) => r.json?.error?.code === 'COUPON_REFUSED').length;
  t.diagnostic(`refused at pricing: ${N - 100 - atCommit}; refused by a counter at commit: ${atCommit}`);
  for (const r of results.filter((x) => x.status !== 201)) {
    assert.equal(r.status, 409, r.text);
    const [reason] = r.json.error.rejected.map((x) => x.reason);
    assert.ok(LIMITS.has(reason.code), reason.code);
    assert.equal(reason.group, 'duo', 'refused by the group, not the coupon');
  }
  // Each user at most once across both coupons.
  const users = ok.map((r) => r.json.redemption.order_id);
  const perUser = new Map();
  for (const id of users) {
    const u = Math.floor(Number(id.split('-')[1]) / 2);
    perUser.set(u, (perUser.get(u) ?? 0) + 1);
  }
  assert.ok([...perUser.values()].every((v) => v === 1));
  const [g, a, b] = [await groupCounters('duo'), await counters(server, 'duo-a'), await counters(server, 'duo-b')];
  assert.equal(g.redemptions, 100);
  assert.equal(a.redemptions + b.redemptions, 100, 'each coupon counts its own uses');
  const cents = ok.reduce((sum, r) => sum + Math.round(Number(r.json.redemption.coupons[0].discount) * 100), 0);
  assert.equal(Math.round(Number(g.discount_given) * 100), cents, 'the group counts the discount of both coupons');
  winner = `d${Math.floor(Number(ok[0].json.redemption.order_id.split('-')[1]) / 2)}`;
  assert.equal((await admin(server, 'GET', '/admin/groups/nope/counters')).json.error.code, 'GROUP_NOT_FOUND');
  // Stats stay per coupon.
  const day = rfc3339(Date.now()).slice(0, 10);
  const stats = async (id) => (await shop(server, 'GET', `/stats/${id}?from=${day}&to=${day}`)).json.periods.reduce((s, p) => s + p.redemptions, 0);
  assert.equal((await stats('duo-a')) + (await stats('duo-b')), 100);
});

test("a group's use is held, confirmed, reverted and lapsed with its coupon's; previews read the group's KV copy", TEST_TIMEOUT, async () => {
  const body = (user, code, extra = {}) => ({ order_id: `h-${user}-${code}`, cart: cart('20.00'), user: { id: user }, codes: [code], ...extra });
  // `held` has room for one: a reservation takes it, its revert gives it back.
  let res = await redeem(server, 'held-1', body('h1', 'SOLO', { hold: 'PT15M' }));
  assert.equal(res.status, 201, res.text);
  assert.equal(res.json.redemption.status, 'reserved');
  assert.equal((await groupCounters('held')).redemptions, 1);
  const refused = await redeem(server, 'held-2', body('h2', 'SOLO'));
  assert.equal(refused.status, 409);
  assert.deepEqual([refused.json.error.rejected[0].reason.code, refused.json.error.rejected[0].reason.group], ['GLOBAL_LIMIT_REACHED', 'held']);
  const id = res.json.redemption.id;
  assert.equal((await shop(server, 'POST', `/redemptions/${id}/confirm`)).status, 200);
  assert.equal((await shop(server, 'POST', `/redemptions/${id}/revert`)).json.redemption.status, 'reverted');
  assert.equal((await groupCounters('held')).redemptions, 0, 'the revert gave the group its use back');
  assert.equal((await counters(server, 'solo')).redemptions, 0);
  // A hold that lapses gives it back too.
  res = await redeem(server, 'held-3', body('h3', 'SOLO', { hold: 'PT1S' }));
  assert.equal(res.status, 201, res.text);
  const back = await eventually(async () => (await groupCounters('held')).redemptions === 0, 15_000);
  assert.ok(back, 'the lapsed hold gave the group its use back');
  // The preview (POST /evaluate) prices with the group's KV copy: `winner` used the `duo` group.
  assert.equal((await groupCounters('duo', winner)).user_redemptions, 1);
  const preview = await eventually(async () => {
    const r = await shop(server, 'POST', '/evaluate', { body: { cart: cart('20.00'), user: { id: winner }, codes: ['DUOA', 'DUOB'] } });
    return r.json.rejected.length === 2 ? r.json : null;
  });
  assert.ok(preview, 'both codes refused for d0 once the copy is there');
  assert.ok(preview.rejected.every((r) => r.reason.code === 'USER_LIMIT_REACHED' && r.reason.group === 'duo'), JSON.stringify(preview.rejected));
});

test('the "20% off shoes" campaign: STAFF20 and newsletter codes of one coupon, once per customer, one global count', TEST_TIMEOUT, async () => {
  const m = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs/examples/staff-and-newsletter-shoes.json'), 'utf8'));
  const now = Date.now();
  await publish(server, { ...m, issued_at: rfc3339(now - 3600e3), expires_at: rfc3339(now + 86400e3) });
  // 1,000 newsletter codes, uploaded in two requests of 500 (the upload cap).
  const codes = Array.from({ length: 1000 }, (_, i) => `NEWS${String(i).padStart(8, '0')}`);
  for (const chunk of [codes.slice(0, 500), codes.slice(500)]) {
    const up = await admin(server, 'POST', '/admin/coupons/shoes-20/codes?batch=newsletter', { body: `code\n${chunk.join('\n')}\n`, headers: { 'content-type': 'text/csv' } });
    assert.equal(up.status, 201, up.text);
    assert.equal(up.json.imported, 500);
  }
  const bad = await admin(server, 'POST', '/admin/coupons/shoes-20/codes', { body: 'code\nSHOE12345678\n', headers: { 'content-type': 'text/csv' } });
  assert.equal(bad.status, 422, 'a code of no bulk source is refused');
  const shoes = { currency: 'USD', lines: [{ id: 'l1', product_id: 'runner', quantity: 1, unit_price: '120.00', attributes: { category: 'shoes' } }] };
  const order = (key, user, code) => redeem(server, key, { order_id: key, cart: shoes, user: { id: user }, codes: [code] });

  // A staff member with the hidden code.
  let res = await order('camp-1', 'staff-1', 'staff20');
  assert.equal(res.status, 201, res.text);
  assert.deepEqual(res.json.redemption.coupons, [{ coupon_id: 'shoes-20', code: 'STAFF20', discount: '24.00' }]);
  // The same person with a newsletter code: the same coupon, once per customer.
  res = await order('camp-2', 'staff-1', codes[0]);
  assert.equal(res.status, 409, res.text);
  assert.equal(res.json.error.rejected[0].reason.code, 'USER_LIMIT_REACHED');
  // Another reader with a newsletter code: verified at the edge, the shared global count goes on.
  res = await order('camp-3', 'reader-1', codes[1].toLowerCase());
  assert.equal(res.status, 201, res.text);
  assert.equal(res.json.evaluation.applied[0].verification, 'full');
  // A used newsletter code is not used again; one never issued is unknown.
  res = await order('camp-4', 'reader-2', codes[1]);
  assert.equal(res.json.error.rejected[0].reason.code, 'UNKNOWN_CODE');
  res = await order('camp-5', 'reader-2', 'NEWS99999999');
  assert.equal(res.json.error.rejected[0].reason.code, 'UNKNOWN_CODE');
  const c = await counters(server, 'shoes-20');
  assert.equal(c.redemptions, 2, 'the hidden code and the newsletter codes count against one global limit');
  assert.equal(c.discount_given, '48.00');
  // The hidden coupon is never in a tray; checkCode-style pricing still finds it by either code.
  const tray = await shop(server, 'GET', '/coupons?user=reader-3');
  assert.ok(!tray.json.some((e) => e.coupon_id === 'shoes-20'));
  await sleep(0);
});
