// The seven use cases of docs/use-cases.md, end to end through the real Worker (workerd): each test
// publishes ITS manifest from docs/examples/ and plays the shop's side (events from its backend,
// POST /events, replayed once to show a replay changes nothing) and the shopper's side (the tray,
// POST /evaluate, POST /redemptions with an Idempotency-Key, the limits with their reason codes),
// then reads GET /stats. The Worker serves one manifest at a time, so the tests run in order, each
// publishing its own; every coupon id and user id is its own, so counters never mix.
//
// The example files are used as they are, except for the dates: `issued_at` and `expires_at` are
// moved around the real clock (the Worker has no other). Where a use case is about dates or hours,
// the change is the smallest that lets the test run at any time, and says so:
// - the Diwali sale moves its whole calendar (every time in the file, by the same amount) so that
//   the edge's clock is a chosen moment before, during or after the sale;
// - the off-peak delivery first asserts what the real clock gives (inside the weekday 15:00-18:00
//   window in Asia/Kolkata, or OUTSIDE_SCHEDULE), then moves the window onto and away from now.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT } from './server.mjs';
import { admin, call, shop, publish, redeem, rfc3339, start, START_TIMEOUT, STOP_TIMEOUT, TEST_TIMEOUT, eventually } from './helpers.mjs';

const INGEST_TOKEN = 'test-ingest-token-use-cases';
const HOUR = 3600e3;
const DAY = 24 * HOUR;

let server;
before(async () => {
  server = await start({ INGEST_TOKEN });
}, START_TIMEOUT);
after(() => server?.stop(), STOP_TIMEOUT);

// ---- the example files ----------------------------------------------------------------------

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

/**
 * The file's calendar moved so that the edge's clock is `at` (a time in the file's own calendar):
 * `move(t)` is where the file's time `t` lands. Whole seconds, so every moved time is exact.
 */
function calendarAt(at) {
  const delta = Math.round((Date.now() - Date.parse(at)) / 1000) * 1000;
  return { delta, move: (t) => rfc3339(Date.parse(t) + delta) };
}

/**
 * docs/examples/FILE as the test publishes it. Without a calendar: valid from an hour ago for a
 * day, nothing else changed. With one (calendarAt): every time in the file (validity, activation,
 * expiry, window, rule values) moved by the same amount; the offset table of time zones is left as
 * it is (its entries are the zone's history, and the first one is long before any of these times).
 */
function example(file, calendar) {
  const m = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs/examples', file), 'utf8'));
  const now = Date.now();
  if (!calendar) return { ...m, issued_at: rfc3339(now - HOUR), expires_at: rfc3339(now + DAY) };
  const shift = (v, key) => {
    if (key === 'time_zones') return v;
    if (typeof v === 'string' && RFC3339.test(v)) return calendar.move(v);
    if (Array.isArray(v)) return v.map((x) => shift(x));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shift(x, k)]));
    return v;
  };
  return shift(m);
}

// ---- the shop's backend and the shopper's page ----------------------------------------------

let ip = 0;
const shopper = () => ({ 'cf-connecting-ip': `198.51.100.${(++ip % 250) + 1}` });

const sendEvent = (body) => call(server, 'POST', '/events', { body, headers: { authorization: `Bearer ${INGEST_TOKEN}` } });
const context = async (user) => (await shop(server, 'GET', `/users/${encodeURIComponent(user)}/context`)).json;
const putUser = (user, profile) => admin(server, 'PUT', `/admin/users/${encodeURIComponent(user)}`, { body: profile });

/**
 * One event from the shop's backend, then the same event again (a retry after a timeout): the
 * first is 201, the replay 200 with the same bytes and `idempotent-replayed: true`, and the user's
 * context is the same before and after the replay. Returns the first answer. (The context carries
 * an event at once, or within a second when the user's events come faster than KV takes writes to
 * one key: docs/worker.md, staleness. The replay is checked once the event is there.)
 */
async function event(body) {
  const first = await sendEvent(body);
  assert.equal(first.status, 201, `${body.name} ${body.id}: ${first.text}`);
  const ctx = await eventually(async () => {
    const c = await context(body.user_id);
    return c.events?.some((e) => e.id === body.id) ? c : null;
  }, 5000);
  assert.ok(ctx, `the user context carries event ${body.id}`);
  const replay = await sendEvent(body);
  assert.equal(replay.status, 200, replay.text);
  assert.equal(replay.headers.get('idempotent-replayed'), 'true');
  assert.equal(replay.text, first.text, 'a replay answers the first answer, byte for byte');
  assert.deepEqual(await context(body.user_id), ctx, 'a replay changes nothing in the user context');
  return first.json;
}

async function tray(user) {
  const res = await shop(server, 'GET', `/coupons?user=${encodeURIComponent(user)}`);
  assert.equal(res.status, 200, res.text);
  return Object.fromEntries(res.json.map((t) => [t.coupon_id, t]));
}

async function evaluate(user, cart, codes) {
  const res = await shop(server, 'POST', '/evaluate', { body: { cart, codes, user: { id: user } }, headers: shopper() });
  assert.equal(res.status, 200, res.text);
  return res.json;
}

/** The reason a typed code got, or null when it applied. */
const reasonOf = (evaluation, code) => evaluation.rejected.find((r) => r.code === code)?.reason ?? null;
const appliedIds = (evaluation) => evaluation.applied.map((a) => a.coupon_id);

/** A redemption that must go through; its replay under the same key answers the same bytes. */
async function order(key, user, orderId, cart, codes) {
  const body = { order_id: orderId, cart, codes, user: { id: user } };
  const res = await redeem(server, key, body, shopper());
  assert.equal(res.status, 201, `${orderId}: ${res.text}`);
  assert.equal(res.json.redemption.status, 'redeemed');
  const again = await redeem(server, key, body, shopper());
  assert.equal(again.status, 201);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.equal(again.text, res.text);
  return res.json;
}

/** A redemption the Worker must refuse; returns the reason of the refused coupon. */
async function refusedOrder(key, user, orderId, cart, codes) {
  const res = await redeem(server, key, { order_id: orderId, cart, codes, user: { id: user } }, shopper());
  assert.equal(res.status, 409, `${orderId}: ${res.text}`);
  assert.ok(['CODES_REJECTED', 'COUPON_REFUSED'].includes(res.json.error.code), res.text);
  return res.json.error.rejected[0].reason;
}

const day = (ms) => rfc3339(ms).slice(0, 10);
/** money strings summed exactly (every currency here has 2 decimals). */
const cents = (s) => {
  const [units, fraction = ''] = s.split('.');
  return BigInt(units) * 100n + BigInt(fraction.padEnd(2, '0'));
};
const money = (c) => `${c / 100n}.${String(c % 100n).padStart(2, '0')}`;

/** GET /stats/{coupon}, days from 4 days ago to tomorrow (UTC), summed over the periods. */
async function stats(couponId) {
  const now = Date.now();
  const res = await call(server, 'GET', `/stats/${couponId}?from=${day(now - 4 * DAY)}&to=${day(now + DAY)}&granularity=day`);
  assert.equal(res.status, 200, res.text);
  const sum = (k) => res.json.periods.reduce((n, p) => n + p[k], 0);
  const sumMoney = (k) => money(res.json.periods.reduce((n, p) => n + cents(p[k]), 0n));
  return {
    redemptions: sum('redemptions'), redeeming_users: sum('redeeming_users'), rollbacks: sum('rollbacks'),
    discount_given: sumMoney('discount_given'), gross_merchandise_value: sumMoney('gross_merchandise_value'),
    codes_distributed: sum('codes_distributed'),
  };
}

// ---- 1. first-purchase discount for new users ------------------------------------------------

const homeCart = (price) => ({
  currency: 'USD',
  lines: [{ id: 'l1', product_id: 'oak-side-table', quantity: 1, unit_price: price, attributes: { category: 'furniture' } }],
  shipping: { amount: '9.95' },
});

test('1. first purchase: the sign_up event unlocks WELCOME15 for new customers, once', TEST_TIMEOUT, async () => {
  await publish(server, example('first-purchase.json'));

  // Not signed up yet: nothing to show, and the code is not active for this shopper.
  assert.equal((await tray('lumen-ana'))['first-order-15'], undefined);
  assert.equal(reasonOf(await evaluate('lumen-ana', homeCart('120.00'), ['WELCOME15']), 'WELCOME15').code, 'NOT_ACTIVATED');

  // The shop's backend reports the sign-up, with a verified email.
  const signUp = await event({ id: 'signup-ana', user_id: 'lumen-ana', name: 'sign_up', properties: { method: 'email', email_verified: true } });
  assert.deepEqual(signUp.activated, [{ coupon_id: 'first-order-15', at: signUp.at }]);
  assert.deepEqual(signUp.assigned, []);

  const entry = (await tray('lumen-ana'))['first-order-15'];
  assert.equal(entry.code, 'WELCOME15');
  assert.equal(entry.expires_at, rfc3339(Date.parse(signUp.at) + 30 * DAY), '30 days from the sign-up');

  // 15% of 120.00; a 30.00 cart is 10.00 short of the minimum.
  const priced = await evaluate('lumen-ana', homeCart('120.00'), ['welcome15']);
  assert.deepEqual(priced.applied.map((a) => [a.coupon_id, a.discount]), [['first-order-15', '18.00']]);
  const small = reasonOf(await evaluate('lumen-ana', homeCart('30.00'), ['WELCOME15']), 'WELCOME15');
  assert.equal(small.code, 'CART_CONDITION_FAILED');
  assert.equal(small.missing, '10.00');

  const done = await order('lumen-ana-1', 'lumen-ana', 'LO-10001', homeCart('120.00'), ['WELCOME15']);
  assert.deepEqual(done.redemption.coupons.map((c) => [c.coupon_id, c.discount]), [['first-order-15', '18.00']]);
  assert.equal(done.evaluation.totals.total, '111.95');

  // Once per customer; and once the shop records the order, she is no longer a new customer.
  assert.equal((await refusedOrder('lumen-ana-2', 'lumen-ana', 'LO-10002', homeCart('80.00'), ['WELCOME15'])).code, 'USER_LIMIT_REACHED');
  assert.equal((await putUser('lumen-ana', { properties: { orders_count: 1 } })).status, 200);
  assert.equal(reasonOf(await evaluate('lumen-ana', homeCart('80.00'), ['WELCOME15']), 'WELCOME15').code, 'NOT_IN_AUDIENCE');

  // A sign-up whose email is not verified yet unlocks nothing.
  const unverified = await event({ id: 'signup-bo', user_id: 'lumen-bo', name: 'sign_up', properties: { method: 'email', email_verified: false } });
  assert.deepEqual(unverified.activated, []);
  assert.equal(reasonOf(await evaluate('lumen-bo', homeCart('120.00'), ['WELCOME15']), 'WELCOME15').code, 'NOT_ACTIVATED');

  // A shopper with past orders (guest checkouts before the account) is not new.
  await putUser('lumen-cy', { properties: { orders_count: 4 } });
  const returning = await event({ id: 'signup-cy', user_id: 'lumen-cy', name: 'sign_up', properties: { method: 'google', email_verified: true } });
  assert.deepEqual(returning.activated.map((a) => a.coupon_id), ['first-order-15']);
  const cy = reasonOf(await evaluate('lumen-cy', homeCart('120.00'), ['WELCOME15']), 'WELCOME15');
  assert.equal(cy.code, 'NOT_IN_AUDIENCE');
  assert.equal(cy.segment, 'new_customers');

  assert.deepEqual(await stats('first-order-15'), {
    redemptions: 1, redeeming_users: 1, rollbacks: 0, discount_given: '18.00', gross_merchandise_value: '120.00', codes_distributed: 0,
  });
});

// ---- 2. a festive sale with a global and a per-user limit ------------------------------------

const BEFORE_SALE = '2026-11-05T12:00:00+05:30';
const DURING_SALE = '2026-11-07T12:00:00+05:30';
const AFTER_SALE = '2026-11-12T12:00:00+05:30';
const bazaarCart = (price) => ({
  currency: 'INR',
  lines: [{ id: 'l1', product_id: 'banarasi-silk-saree', quantity: 1, unit_price: price, attributes: { category: 'ethnic-wear' } }],
});

test('2. Diwali sale: the first 100 orders, twice per customer; a return gift given by big orders', TEST_TIMEOUT, async () => {
  // Before Dhanteras: the code exists but the sale has not started.
  let cal = calendarAt(BEFORE_SALE);
  await publish(server, example('diwali-sale.json', cal));
  const early = reasonOf(await evaluate('bb-meera', bazaarCart('3000.00'), ['DIWALI25']), 'DIWALI25');
  assert.equal(early.code, 'NOT_YET_ACTIVE');
  assert.equal(early.starts_at, cal.move('2026-11-06T00:00:00+05:30'));
  assert.equal((await tray('bb-meera'))['diwali-25'], undefined, 'not listed before it starts');

  cal = calendarAt(DURING_SALE);
  await publish(server, example('diwali-sale.json', cal));
  assert.equal((await tray('bb-meera'))['diwali-25'].code, 'DIWALI25');

  // 25% of 3,000 is 750, the cap; the order total is 2,250.
  const first = await order('bb-meera-1', 'bb-meera', 'BB-1001', bazaarCart('3000.00'), ['DIWALI25']);
  assert.equal(first.evaluation.totals.discount, '750.00');
  assert.equal(first.evaluation.totals.total, '2250.00');

  // The shop reports the order; one of 2,000 or more earns the return gift.
  const purchase = await event({ id: 'BB-1001', user_id: 'bb-meera', name: 'purchase', properties: { order_id: 'BB-1001', order_total: '2250.00' } });
  assert.deepEqual(purchase.assigned, [{ coupon_id: 'diwali-return-gift', assigned_at: purchase.at }]);
  const gift = (await tray('bb-meera'))['diwali-return-gift'];
  assert.equal(gift.code, 'THANKYOU200');
  assert.equal(gift.assigned_at, purchase.at);
  assert.equal(gift.redeemable_from, cal.move('2026-11-10T00:00:00+05:30'), 'announced now, redeemable after Diwali');
  assert.equal(reasonOf(await evaluate('bb-meera', bazaarCart('1500.00'), ['THANKYOU200']), 'THANKYOU200').code, 'OUTSIDE_REDEMPTION_WINDOW');

  // Her second order: 25% of 2,800 (700 off, 2,100 to pay); it earns no second gift while she holds one.
  const second = await order('bb-meera-2', 'bb-meera', 'BB-1002', bazaarCart('2800.00'), ['DIWALI25']);
  assert.equal(second.evaluation.totals.total, '2100.00');
  const again = await event({ id: 'BB-1002', user_id: 'bb-meera', name: 'purchase', properties: { order_id: 'BB-1002', order_total: '2100.00' } });
  assert.deepEqual(again.skipped.map((s) => [s.coupon_id, s.reason.code]), [['diwali-return-gift', 'ALREADY_ASSIGNED']]);
  // A small order earns nothing.
  const small = await event({ id: 'BB-1003', user_id: 'bb-kabir', name: 'purchase', properties: { order_id: 'BB-1003', order_total: '1499.00' } });
  assert.deepEqual(small.assigned, []);
  assert.equal(small.skipped[0].reason.code, 'EVENT_CONDITION_FAILED');
  assert.equal(small.skipped[0].reason.fact, 'event.properties.order_total');

  // Twice per customer.
  assert.equal((await refusedOrder('bb-meera-3', 'bb-meera', 'BB-1004', bazaarCart('2000.00'), ['DIWALI25'])).code, 'USER_LIMIT_REACHED');

  // 110 shoppers at once for the 98 orders left: exactly 98 get the discount.
  const rush = await Promise.all(Array.from({ length: 110 }, (_, i) =>
    redeem(server, `bb-rush-${i}`, { order_id: `BB-2${String(i).padStart(3, '0')}`, cart: bazaarCart('1999.00'), codes: ['DIWALI25'], user: { id: `bb-shopper-${i}` } }, shopper())));
  assert.equal(rush.filter((r) => r.status === 201).length, 98, rush.filter((r) => r.status !== 201 && r.status !== 409).map((r) => r.text).join('\n'));
  for (const r of rush.filter((x) => x.status !== 201)) {
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.error.rejected[0].reason.code, 'GLOBAL_LIMIT_REACHED', r.text);
  }
  // Latecomers see it at checkout too, once the counters' copy reaches the edge (about a second).
  const late = await eventually(async () => {
    const reason = reasonOf(await evaluate('bb-late', bazaarCart('1999.00'), ['DIWALI25']), 'DIWALI25');
    return reason?.code === 'GLOBAL_LIMIT_REACHED' ? reason : null;
  });
  assert.ok(late, 'GLOBAL_LIMIT_REACHED at /evaluate');
  assert.equal(late.limit, 100);

  const sale = await stats('diwali-25');
  assert.equal(sale.redemptions, 100);
  assert.equal(sale.codes_distributed, 0);
  assert.equal(sale.discount_given, money(750_00n + 700_00n + 98n * 499_75n));
  assert.equal((await stats('diwali-return-gift')).codes_distributed, 1);

  // After Diwali: the sale is over, and the return gift is good.
  cal = calendarAt(AFTER_SALE);
  await publish(server, example('diwali-sale.json', cal));
  const over = reasonOf(await evaluate('bb-late', bazaarCart('3000.00'), ['DIWALI25']), 'DIWALI25');
  assert.equal(over.code, 'EXPIRED');
  assert.equal(over.expired_at, cal.move('2026-11-10T00:00:00+05:30'));
  const thanks = await order('bb-meera-gift', 'bb-meera', 'BB-3001', bazaarCart('1500.00'), ['THANKYOU200']);
  assert.deepEqual(thanks.redemption.coupons.map((c) => [c.coupon_id, c.discount]), [['diwali-return-gift', '200.00']]);
  assert.equal(reasonOf(await evaluate('bb-kabir', bazaarCart('1500.00'), ['THANKYOU200']), 'THANKYOU200').code, 'NOT_ASSIGNED');
});

// ---- 3. cart-abandonment recovery --------------------------------------------------------------

// What `couponctl codes generate --prefix BACK --length 12 --mac-chars 0` writes (or an ESP's
// export), as the shop uploads them: the pool hands each one out once.
const COMEBACK_CODES = ['BACK-7H2K-Q9ZX', 'BACK-M4TP-8W2C', 'BACK-R6XJ-3N9D', 'BACK-F8VZ-2K7L'];
const normal = (code) => code.replaceAll('-', '');
const abandonedCart = (price) => ({
  currency: 'USD',
  lines: [{ id: 'l1', product_id: 'trail-runner-2', quantity: 1, unit_price: price, attributes: { category: 'shoes' } }],
  shipping: { amount: '6.50' },
});
const pool = async () => (await admin(server, 'GET', '/admin/coupons/cart-comeback-15/pool')).json;

test('3. cart abandonment: a cart_abandoned event gives a pooled code an hour later, good for 48 hours', TEST_TIMEOUT, async () => {
  await publish(server, example('cart-abandonment.json'));
  const up = await admin(server, 'POST', '/admin/coupons/cart-comeback-15/codes?pool=true', {
    body: `code\n${COMEBACK_CODES.join('\n')}\n`, headers: { 'content-type': 'text/csv' } });
  assert.equal(up.status, 201, up.text);
  assert.deepEqual(up.json, { coupon_id: 'cart-comeback-15', imported: 4, pooled: 4, available: 4 });

  // The shop's backend saw Olivia leave a cart of 86.40 three hours ago; the code is hers from two
  // hours ago (the coupon's one-hour delay).
  const left = rfc3339(Date.now() - 3 * HOUR);
  const abandoned = await event({ id: 'cart-5521-abandoned', user_id: 'ca-olivia', name: 'cart_abandoned', at: left, properties: { cart_id: 'cart-5521', cart_value: '86.40' } });
  assert.equal(abandoned.assigned.length, 1, JSON.stringify(abandoned));
  const { code, assigned_at: assignedAt } = abandoned.assigned[0];
  assert.equal(assignedAt, rfc3339(Date.parse(left) + HOUR));
  assert.ok(COMEBACK_CODES.map(normal).includes(code), code);
  assert.deepEqual(await pool(), { coupon_id: 'cart-comeback-15', available: 3, given: 1 }, 'the replay gave no second code');

  const entry = (await tray('ca-olivia'))['cart-comeback-15'];
  assert.equal(entry.code, code);
  assert.equal(entry.expires_at, rfc3339(Date.parse(assignedAt) + 48 * HOUR));
  const priced = await evaluate('ca-olivia', abandonedCart('86.40'), [code]);
  assert.deepEqual(priced.applied.map((a) => [a.coupon_id, a.discount, a.verification]), [['cart-comeback-15', '12.96', 'full']]);
  await order('ca-olivia-1', 'ca-olivia', 'W-88120', abandonedCart('86.40'), [code]);
  // A used one-time code answers as an unknown one (docs/worker.md, bulk codes: an answer never
  // tells whether a code exists), at checkout and at redemption.
  // (Checkout previews read the counter's copy of used codes, written within about a second.)
  assert.ok(await eventually(async () => reasonOf(await evaluate('ca-olivia', abandonedCart('40.00'), [code]), code)?.code === 'UNKNOWN_CODE'));
  assert.equal((await refusedOrder('ca-olivia-2', 'ca-olivia', 'W-88121', abandonedCart('40.00'), [code])).code, 'UNKNOWN_CODE');

  // She leaves another cart: she has used her one code (`per_user: 1`), so no second code is spent
  // on her (the engine checks the limit, from the counters, before her live assignment).
  const relapse = await event({ id: 'cart-5600-abandoned', user_id: 'ca-olivia', name: 'cart_abandoned', properties: { cart_id: 'cart-5600', cart_value: '55.00' } });
  assert.deepEqual(relapse.skipped.map((s) => [s.coupon_id, s.reason.code]), [['cart-comeback-15', 'USER_LIMIT_REACHED']]);

  // Liam left his cart just now: his code is his in an hour, not before.
  const liam = await event({ id: 'cart-5602-abandoned', user_id: 'ca-liam', name: 'cart_abandoned', properties: { cart_id: 'cart-5602', cart_value: '129.00' } });
  assert.equal(liam.assigned[0].assigned_at, rfc3339(Date.parse(liam.at) + HOUR));
  assert.equal((await tray('ca-liam'))['cart-comeback-15'], undefined);
  assert.equal(reasonOf(await evaluate('ca-liam', abandonedCart('129.00'), [liam.assigned[0].code]), liam.assigned[0].code).code, 'NOT_ASSIGNED');

  // Noah's cart was too small to chase: no code spent.
  const noah = await event({ id: 'cart-5603-abandoned', user_id: 'ca-noah', name: 'cart_abandoned', properties: { cart_id: 'cart-5603', cart_value: '12.00' } });
  assert.deepEqual(noah.assigned, []);
  assert.equal(noah.skipped[0].reason.code, 'EVENT_CONDITION_FAILED');
  assert.equal(noah.skipped[0].reason.fact, 'event.properties.cart_value');

  // Emma's cart was abandoned 60 hours ago and the shop's backend reports it only now: her code
  // would have come 59 hours ago and its 48 hours are up, so none is spent on her.
  const emmaLeft = rfc3339(Date.now() - 60 * HOUR);
  const emma = await event({ id: 'cart-5480-abandoned', user_id: 'ca-emma', name: 'cart_abandoned', at: emmaLeft, properties: { cart_id: 'cart-5480', cart_value: '64.00' } });
  assert.deepEqual(emma.assigned, []);
  assert.deepEqual(emma.skipped.map((s) => [s.coupon_id, s.reason.code]), [['cart-comeback-15', 'EXPIRED']]);
  assert.equal(emma.skipped[0].reason.expired_at, rfc3339(Date.parse(emmaLeft) + (1 + 48) * HOUR));
  assert.deepEqual(await pool(), { coupon_id: 'cart-comeback-15', available: 2, given: 2 }, 'Olivia and Liam have codes; Emma none');
  assert.equal((await context('ca-emma')).assignments, undefined);
  assert.equal((await tray('ca-emma'))['cart-comeback-15'], undefined);

  // The last two codes go to Sofia and Mia; Ava finds the pool empty and gets nothing (the shop adds codes).
  const sofia = await event({ id: 'cart-5604-abandoned', user_id: 'ca-sofia', name: 'cart_abandoned', at: left, properties: { cart_id: 'cart-5604', cart_value: '42.00' } });
  assert.equal(sofia.assigned.length, 1);
  // Someone else's code is not hers to use.
  assert.equal(reasonOf(await evaluate('ca-sofia', abandonedCart('42.00'), [liam.assigned[0].code]), liam.assigned[0].code).code, 'NOT_ASSIGNED');
  const mia = await event({ id: 'cart-5605-abandoned', user_id: 'ca-mia', name: 'cart_abandoned', properties: { cart_id: 'cart-5605', cart_value: '75.00' } });
  assert.equal(mia.assigned.length, 1);
  const ava = await event({ id: 'cart-5606-abandoned', user_id: 'ca-ava', name: 'cart_abandoned', properties: { cart_id: 'cart-5606', cart_value: '91.00' } });
  assert.deepEqual(ava.assigned, []);
  assert.deepEqual(ava.skipped.map((s) => [s.coupon_id, s.reason.code]), [['cart-comeback-15', 'CODE_POOL_EMPTY']]);
  assert.deepEqual(await pool(), { coupon_id: 'cart-comeback-15', available: 0, given: 4 });
  assert.equal(new Set([code, liam.assigned[0].code, sofia.assigned[0].code, mia.assigned[0].code]).size, 4, 'every code given once');

  assert.deepEqual(await stats('cart-comeback-15'), {
    redemptions: 1, redeeming_users: 1, rollbacks: 0, discount_given: '12.96', gross_merchandise_value: '86.40', codes_distributed: 4,
  });
});

// ---- 4. off-peak free delivery -----------------------------------------------------------------

const IST = 5.5 * HOUR; // Asia/Kolkata: +05:30 all year
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const hhmm = (ms) => new Date(ms + IST).toISOString().slice(11, 16);
const weekday = (ms) => DAYS[new Date(ms + IST).getUTCDay()];
/** Whether the file's window (weekdays 15:00-18:00 in Asia/Kolkata) is open at `ms`. */
const offPeak = (ms) => !['sat', 'sun'].includes(weekday(ms)) && hhmm(ms) >= '15:00' && hhmm(ms) < '18:00';
/** The example with its window moved: `from` minutes from now, `length` minutes long. */
function offPeakMoved(fromMinutes, lengthMinutes) {
  const m = example('off-peak-delivery.json');
  const start = Date.now() + fromMinutes * 60e3;
  m.coupons[0].schedule = { ...m.coupons[0].schedule, days: [weekday(start)], hours: [{ from: hhmm(start), to: hhmm(start + lengthMinutes * 60e3) }] };
  return m;
}
const basket = (price) => ({
  currency: 'INR',
  lines: [{ id: 'l1', product_id: 'amul-ghee-1l', quantity: 1, unit_price: price, attributes: { category: 'dairy' } }],
  shipping: { amount: '25.00', method: 'instant' },
});

test('4. off-peak delivery: free on weekdays 15:00-18:00 in Asia/Kolkata, once a day, after a first delivery', TEST_TIMEOUT, async () => {
  await publish(server, example('off-peak-delivery.json'));
  assert.equal(reasonOf(await evaluate('nb-priya', basket('450.00'), ['OFFPEAK']), 'OFFPEAK').code, 'NOT_ACTIVATED');

  const delivered = await event({ id: 'NB-77310-delivered', user_id: 'nb-priya', name: 'order_delivered', properties: { order_id: 'NB-77310', city: 'Bengaluru' } });
  assert.deepEqual(delivered.activated, [{ coupon_id: 'offpeak-free-delivery', at: delivered.at }]);
  const next = await event({ id: 'NB-77402-delivered', user_id: 'nb-priya', name: 'order_delivered', properties: { order_id: 'NB-77402', city: 'Bengaluru' } });
  assert.deepEqual(next.activated, [], 'only the first delivery activates');
  assert.equal((await tray('nb-priya'))['offpeak-free-delivery'].code, 'OFFPEAK', 'listed at any hour');

  // The file as it is, at the real time.
  const t0 = Date.now();
  const now = await evaluate('nb-priya', basket('450.00'), ['OFFPEAK']);
  const open = offPeak(t0);
  if (open === offPeak(Date.now())) {
    if (open) {
      assert.deepEqual(appliedIds(now), ['offpeak-free-delivery']);
      assert.equal(now.shipping.final, '0.00');
    } else {
      const reason = reasonOf(now, 'OFFPEAK');
      assert.equal(reason.code, 'OUTSIDE_SCHEDULE', JSON.stringify(reason));
      assert.equal(now.shipping.final, '25.00');
    }
  } // else: the window opened or closed during the request; the moved windows below decide.

  // The window moved onto now (today, an hour before to an hour after): delivery is free, once.
  await publish(server, offPeakMoved(-60, 120));
  const free = await evaluate('nb-priya', basket('450.00'), ['OFFPEAK']);
  assert.deepEqual([free.shipping.original, free.shipping.discount, free.shipping.final], ['25.00', '25.00', '0.00']);
  const paid = await order('nb-priya-1', 'nb-priya', 'NB-77555', basket('450.00'), ['OFFPEAK']);
  assert.equal(paid.evaluation.totals.total, '450.00');
  const twice = await refusedOrder('nb-priya-2', 'nb-priya', 'NB-77556', basket('320.00'), ['OFFPEAK']);
  assert.equal(twice.code, 'PERIOD_LIMIT_REACHED');
  assert.equal(twice.period, 'day');
  assert.equal(twice.per_user, true);

  // Arjun had a delivery too; his basket is under 199.
  await event({ id: 'NB-77001-delivered', user_id: 'nb-arjun', name: 'order_delivered', properties: { order_id: 'NB-77001', city: 'Bengaluru' } });
  const small = reasonOf(await evaluate('nb-arjun', basket('150.00'), ['OFFPEAK']), 'OFFPEAK');
  assert.equal(small.code, 'CART_CONDITION_FAILED');
  assert.equal(small.missing, '49.00');

  // The window moved six hours away: OUTSIDE_SCHEDULE, with the window in words.
  await publish(server, offPeakMoved(360, 60));
  const outside = reasonOf(await evaluate('nb-arjun', basket('450.00'), ['OFFPEAK']), 'OFFPEAK');
  assert.equal(outside.code, 'OUTSIDE_SCHEDULE');
  assert.ok(outside.schedule, JSON.stringify(outside));

  const s = await stats('offpeak-free-delivery');
  assert.equal(s.redemptions, 1);
  assert.equal(s.discount_given, '25.00');
});

// ---- 5. early-bird travel ----------------------------------------------------------------------

const trip = (departs, lines) => ({
  currency: 'EUR',
  lines: lines.map(([id, productId, kind, quantity, price]) => ({
    id, product_id: productId, quantity, unit_price: price, attributes: { kind, departs_at: rfc3339(departs) },
  })),
});

test('5. early bird: a search 30+ days out sends EARLYBIRD12, 12% off the flights and stays that leave 30+ days after booking', TEST_TIMEOUT, async () => {
  await publish(server, example('early-bird-travel.json'));
  const in45 = Date.now() + 45 * DAY;
  const searched = await event({ id: 'search-9f3a', user_id: 'ac-lena', name: 'trip_searched', properties: { origin: 'LIS', destination: 'DPS', departs_at: rfc3339(in45), travellers: 2 } });
  assert.deepEqual(searched.assigned, [{ coupon_id: 'early-bird-12', assigned_at: searched.at }]);
  assert.equal((await stats('early-bird-12')).codes_distributed, 1, 'counted once, replay or not');

  const soon = await event({ id: 'search-77c1', user_id: 'ac-tom', name: 'trip_searched', properties: { origin: 'LIS', destination: 'FNC', departs_at: rfc3339(Date.now() + 10 * DAY), travellers: 1 } });
  assert.deepEqual(soon.assigned, []);
  assert.equal(soon.skipped[0].reason.code, 'EVENT_CONDITION_FAILED');
  assert.equal(soon.skipped[0].reason.fact, 'event.properties.departs_at');

  const entry = (await tray('ac-lena'))['early-bird-12'];
  assert.equal(entry.code, 'EARLYBIRD12');
  assert.equal(entry.expires_at, rfc3339(Date.parse(searched.at) + 14 * DAY));

  // Two flights and five nights 45 days out get 12%; the airport transfer is not a flight or stay.
  const booking = trip(in45, [['l1', 'flight-LIS-DPS', 'flight', 2, '289.00'], ['l2', 'hotel-ubud-5n', 'hotel', 1, '520.00'], ['l3', 'transfer-dps', 'transfer', 1, '35.00']]);
  const priced = await evaluate('ac-lena', booking, ['EARLYBIRD12']);
  assert.equal(priced.totals.discount, '131.76');
  assert.deepEqual(priced.lines.map((l) => l.discount), ['69.36', '62.40', '0.00']);
  // A trip 12 days out has nothing early-bird in it.
  const lastMinute = reasonOf(await evaluate('ac-lena', trip(Date.now() + 12 * DAY, [['l1', 'flight-LIS-FNC', 'flight', 1, '140.00']]), ['EARLYBIRD12']), 'EARLYBIRD12');
  assert.equal(lastMinute.code, 'NO_ELIGIBLE_ITEMS');
  // Tom was not sent the code.
  assert.equal(reasonOf(await evaluate('ac-tom', booking, ['EARLYBIRD12']), 'EARLYBIRD12').code, 'NOT_ASSIGNED');

  const booked = await order('ac-lena-1', 'ac-lena', 'AZ-2026-4471', booking, ['EARLYBIRD12']);
  assert.deepEqual(booked.redemption.coupons.map((c) => [c.coupon_id, c.discount]), [['early-bird-12', '131.76']]);
  assert.equal((await refusedOrder('ac-lena-2', 'ac-lena', 'AZ-2026-4502', booking, ['EARLYBIRD12'])).code, 'USER_LIMIT_REACHED');

  assert.deepEqual(await stats('early-bird-12'), {
    redemptions: 1, redeeming_users: 1, rollbacks: 0, discount_given: '131.76', gross_merchandise_value: '1133.00', codes_distributed: 1,
  });
});

// ---- 6. wallet top-up incentive ----------------------------------------------------------------

const topUp = (amount, method = 'upi') => ({
  currency: 'INR',
  lines: [{ id: 'l1', product_id: 'wallet-topup', quantity: 1, unit_price: amount, attributes: { category: 'wallet_topup' } }],
  attributes: { payment_method: method },
});

test('6. wallet top-up: 5% back in points when adding money with UPI, after full KYC, 3 times a month', TEST_TIMEOUT, async () => {
  await publish(server, example('wallet-topup-cashback.json'));
  assert.equal(reasonOf(await evaluate('pn-rahul', topUp('1000.00'), ['ADDMONEY5']), 'ADDMONEY5').code, 'NOT_ACTIVATED');

  const minKyc = await event({ id: 'kyc-rahul-min', user_id: 'pn-rahul', name: 'kyc_completed', properties: { kyc_level: 'min' } });
  assert.deepEqual(minKyc.activated, []);
  assert.equal(reasonOf(await evaluate('pn-rahul', topUp('1000.00'), ['ADDMONEY5']), 'ADDMONEY5').code, 'NOT_ACTIVATED');
  const fullKyc = await event({ id: 'kyc-rahul-full', user_id: 'pn-rahul', name: 'kyc_completed', properties: { kyc_level: 'full' } });
  assert.deepEqual(fullKyc.activated, [{ coupon_id: 'upi-topup-cashback', at: fullKyc.at }]);

  // Points, not a price cut: 5% of 2,000 is 100 points (the cap); 5% of 1,000 is 50.
  const big = await evaluate('pn-rahul', topUp('2000.00'), ['ADDMONEY5']);
  assert.equal(big.cashback_points, 100);
  assert.equal(big.totals.total, '2000.00');
  assert.equal(big.totals.discount, '0.00');
  const card = reasonOf(await evaluate('pn-rahul', topUp('1000.00', 'credit_card'), ['ADDMONEY5']), 'ADDMONEY5');
  assert.equal(card.code, 'CART_CONDITION_FAILED');
  assert.equal(card.fact, 'cart.attributes.payment_method');
  const small = reasonOf(await evaluate('pn-rahul', topUp('300.00'), ['ADDMONEY5']), 'ADDMONEY5');
  assert.equal(small.code, 'CART_CONDITION_FAILED');
  assert.equal(small.missing, '200.00');

  for (const n of [1, 2, 3]) {
    const done = await order(`pn-rahul-${n}`, 'pn-rahul', `PN-TXN-${n}`, topUp('1000.00'), ['ADDMONEY5']);
    assert.equal(done.evaluation.cashback_points, 50);
  }
  const fourth = await refusedOrder('pn-rahul-4', 'pn-rahul', 'PN-TXN-4', topUp('1000.00'), ['ADDMONEY5']);
  assert.equal(fourth.code, 'PERIOD_LIMIT_REACHED');
  assert.equal(fourth.period, 'month');
  assert.equal(fourth.per_user, true);

  assert.deepEqual(await stats('upi-topup-cashback'), {
    redemptions: 3, redeeming_users: 1, rollbacks: 0, discount_given: '0.00', gross_merchandise_value: '3000.00', codes_distributed: 0,
  });
});

// ---- 7. in-game limited-time coupon with a daily cap -------------------------------------------

const gemCart = () => ({
  currency: 'USD',
  lines: [
    { id: 'l1', product_id: 'bundle-dragon-egg', quantity: 1, unit_price: '19.99', attributes: { kind: 'bundle' } },
    { id: 'l2', product_id: 'gems-500', quantity: 1, unit_price: '4.99', attributes: { kind: 'currency' } },
  ],
  attributes: { platform: 'android' },
});

test('7. in-game flash offer: level 10 unlocks DRAGON40 for 72 hours, once a day per player, 50 a day in all', TEST_TIMEOUT, async () => {
  await publish(server, example('in-game-flash-offer.json'));
  const lvl7 = await event({ id: 'kai-level-7', user_id: 'sf-kai', name: 'level_up', properties: { level: 7 } });
  assert.deepEqual(lvl7.activated, []);
  assert.equal(reasonOf(await evaluate('sf-kai', gemCart(), ['DRAGON40']), 'DRAGON40').code, 'NOT_ACTIVATED');

  const lvl10 = await event({ id: 'kai-level-10', user_id: 'sf-kai', name: 'level_up', properties: { level: 10 } });
  assert.deepEqual(lvl10.activated, [{ coupon_id: 'dragon-egg-flash-40', at: lvl10.at }]);
  assert.equal((await tray('sf-kai'))['dragon-egg-flash-40'].expires_at, rfc3339(Date.parse(lvl10.at) + 72 * HOUR));

  // 40% off the bundle only: 7.996 rounds to 8.00.
  const priced = await evaluate('sf-kai', gemCart(), ['DRAGON40']);
  assert.deepEqual(priced.lines.map((l) => l.discount), ['8.00', '0.00']);
  await order('sf-kai-1', 'sf-kai', 'GP-1001', gemCart(), ['DRAGON40']);
  const again = await refusedOrder('sf-kai-2', 'sf-kai', 'GP-1002', gemCart(), ['DRAGON40']);
  assert.equal(again.code, 'PERIOD_LIMIT_REACHED');
  assert.equal(again.per_user, true);

  // Nova reached level 12 three days and eight hours ago: her 72 hours are over.
  const old = await event({ id: 'nova-level-12', user_id: 'sf-nova', name: 'level_up', at: rfc3339(Date.now() - 80 * HOUR), properties: { level: 12 } });
  assert.equal(old.activated.length, 1);
  assert.equal(reasonOf(await evaluate('sf-nova', gemCart(), ['DRAGON40']), 'DRAGON40').code, 'EXPIRED');

  // 55 players reach level 10 and buy at once: 49 purchases are left today.
  const players = Array.from({ length: 55 }, (_, i) => `sf-player-${i}`);
  const ups = await Promise.all(players.map((p) => sendEvent({ id: `${p}-level-10`, user_id: p, name: 'level_up', properties: { level: 10 } })));
  assert.ok(ups.every((r) => r.status === 201 && r.json.activated.length === 1), ups.map((r) => r.text).find((t) => !t.includes('dragon')));
  const buys = await Promise.all(players.map((p, i) =>
    redeem(server, `sf-buy-${i}`, { order_id: `GP-2${String(i).padStart(3, '0')}`, cart: gemCart(), codes: ['DRAGON40'], user: { id: p } }, shopper())));
  assert.equal(buys.filter((r) => r.status === 201).length, 49);
  for (const r of buys.filter((x) => x.status !== 201)) {
    assert.equal(r.status, 409, r.text);
    const reason = r.json.error.rejected[0].reason;
    assert.equal(reason.code, 'PERIOD_LIMIT_REACHED', r.text);
    assert.equal(reason.period, 'day');
    assert.equal(reason.per_user, undefined, 'the cap of all players');
  }

  const s = await stats('dragon-egg-flash-40');
  assert.equal(s.redemptions, 50);
  assert.equal(s.redeeming_users, 50);
  assert.equal(s.discount_given, '400.00');
});
