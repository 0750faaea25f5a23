// Who may do what at the edge (docs/worker.md, "Who may do what"; docs/security.md): a shopper is
// who their token says, an anonymous shopper is no one, and only the shop's backend names users,
// redeems outright, confirms, reverts and reads redemptions. Each attack here is one that worked
// when the Worker took a user id from the browser's word.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { generateKeyPair } from '../node/helpers.mjs';
import { startDemoShop } from '../../scripts/demo-shop.mjs';
import {
  admin, call, cart, counters, manifest, publish, redeem, shop, shopperHeaders, shopperToken, start,
  START_TIMEOUT, STOP_TIMEOUT, TEST_TIMEOUT,
} from './helpers.mjs';

let server;
const pct = (id, extra = {}) => ({
  id, name: id, status: 'active', codes: { type: 'static', code: id },
  reward: { type: 'percentage', percent: '10', target: { type: 'order' } }, ...extra,
});

before(async () => {
  server = await start();
  await publish(server, manifest([
    pct('WELCOME'),
    pct('ONCE', { limits: { per_user: 1 } }),
    pct('GOLD', { audience: { type: 'segment', segment: 'gold' } }),
  ], { segments: { gold: { fact: 'user.properties.tier', op: 'eq', value: 'gold' } } }));
  const stored = await admin(server, 'PUT', '/admin/users/gold-1', { body: { properties: { tier: 'gold' } } });
  assert.equal(stored.status, 200, stored.text);
}, START_TIMEOUT);
after(() => server?.stop(), STOP_TIMEOUT);

let n = 0;
const key = () => `identity-${++n}-${crypto.randomUUID()}`;
const reasons = (evaluation) => Object.fromEntries(evaluation.rejected.map((r) => [r.code, r.reason.code]));
const appliedIds = (evaluation) => evaluation.applied.map((a) => a.coupon_id).sort();
const evaluate = (body, headers = {}) => call(server, 'POST', '/evaluate', { body, headers });

describe('a shopper is who their token says', () => {
  test('another shopper\'s id gives nothing of theirs: tier coupons, tray, context', TEST_TIMEOUT, async () => {
    const body = { cart: cart(), codes: ['GOLD'], user: { id: 'gold-1' } };
    // Anonymous, naming gold-1: priced as no one, so the gold coupon needs sign-in.
    const anon = await evaluate(body);
    assert.equal(anon.status, 200, anon.text);
    assert.deepEqual(reasons(anon.json), { GOLD: 'SIGN_IN_REQUIRED' });
    assert.equal(anon.json.rejected[0].reason.needs, 'segment');
    // Signed in as mallory, naming gold-1: refused outright.
    const mallory = await evaluate(body, await shopperHeaders(server, 'mallory'));
    assert.equal(mallory.status, 403);
    assert.equal(mallory.json.error.code, 'USER_MISMATCH');
    // Mallory's own id: not gold.
    const own = await evaluate({ ...body, user: { id: 'mallory' } }, await shopperHeaders(server, 'mallory'));
    assert.deepEqual(reasons(own.json), { GOLD: 'NOT_IN_AUDIENCE' });
    // gold-1 signed in (the user may be left out of the body: the token says who).
    const gold = await evaluate({ cart: cart(), codes: ['GOLD'] }, await shopperHeaders(server, 'gold-1'));
    assert.deepEqual(appliedIds(gold.json), ['GOLD']);

    const tray = async (query, headers) => (await call(server, 'GET', `/coupons${query}`, { headers })).json.map((t) => t.coupon_id).sort();
    assert.ok(!(await tray('?user=gold-1', {})).includes('GOLD'), 'an anonymous tray naming gold-1 is no one\'s');
    assert.ok((await tray('', await shopperHeaders(server, 'gold-1'))).includes('GOLD'));
    assert.equal((await call(server, 'GET', '/coupons?user=gold-1', { headers: await shopperHeaders(server, 'mallory') })).status, 403);

    const context = (headers) => call(server, 'GET', '/users/gold-1/context', { headers });
    const anonCtx = await context({});
    assert.equal(anonCtx.status, 401);
    assert.equal(anonCtx.json.error.code, 'SHOPPER_TOKEN_REQUIRED');
    assert.equal((await context(await shopperHeaders(server, 'mallory'))).status, 403);
    const mine = await context(await shopperHeaders(server, 'gold-1'));
    assert.equal(mine.status, 200);
    assert.equal(mine.json.properties.tier, 'gold');
  });

  test('new ids give no second use of a per-user coupon', TEST_TIMEOUT, async () => {
    const used = await redeem(server, key(), { order_id: 'o-once', cart: cart(), codes: ['ONCE'], user: { id: 'once-1' } });
    assert.equal(used.status, 201, used.text);
    // Inventing an id for each try, without a token: every one is anonymous, and anonymous is no
    // customer a per-customer limit could count.
    for (let i = 0; i < 5; i++) {
      const res = await call(server, 'POST', '/redemptions', {
        body: { order_id: `o-new-${i}`, cart: cart(), codes: ['ONCE'], user: { id: `invented-${i}` }, hold: 'PT10M' },
        headers: { 'idempotency-key': key() },
      });
      assert.equal(res.status, 409, res.text);
      assert.equal(res.json.error.code, 'CODES_REJECTED');
      assert.equal(res.json.error.rejected[0].reason.code, 'SIGN_IN_REQUIRED');
    }
    assert.equal((await counters(server, 'ONCE')).redemptions, 1);
    // Coupons for everyone still price for an anonymous shopper.
    const welcome = await evaluate({ cart: cart(), codes: ['WELCOME'] });
    assert.deepEqual(appliedIds(welcome.json), ['WELCOME']);
  });

  test('a token that is not good is 401 SHOPPER_TOKEN_INVALID with the reason', TEST_TIMEOUT, async () => {
    const other = generateKeyPair('shopper-test-1'); // the trusted kid, another key
    const stranger = generateKeyPair('not-trusted');
    const cases = [
      ['expired', await shopperToken(server, 'u-1', { ttl: -120 })],
      ['signature', await shopperToken(server, 'u-1', { key: other.privateJwk })],
      ['unknown_kid', await shopperToken(server, 'u-1', { key: stranger.privateJwk })],
      ['claims', await shopperToken(server, undefined)],
      ['lifetime', await shopperToken(server, 'u-1', { ttl: 7 * 86400 })],
      ['claims', await shopperToken(server, 'x'.repeat(300))],
      ['malformed', 'a.b.c'],
    ];
    for (const [reason, token] of cases) {
      const res = await evaluate({ cart: cart() }, { authorization: `Bearer ${token}` });
      assert.equal(res.status, 401, `${reason}: ${res.text}`);
      assert.equal(res.json.error.code, 'SHOPPER_TOKEN_INVALID', reason);
      assert.equal(res.json.error.reason, reason);
    }
    // Neither a token nor the server credential.
    for (const authorization of ['Bearer not-the-token', 'Basic dXNlcjpwYXNz', 'Bearer ']) {
      const res = await evaluate({ cart: cart() }, { authorization });
      assert.equal(res.status, 401, authorization);
      assert.equal(res.json.error.code, 'UNAUTHORIZED');
    }
  });
});

describe('redemptions are the shop\'s', () => {
  test('a browser may only reserve, briefly; redeeming outright, confirm, revert and reading need the server credential', TEST_TIMEOUT, async () => {
    const body = { order_id: 'o-browser', cart: cart(), codes: ['WELCOME'] };
    const post = async (b, headers) => call(server, 'POST', '/redemptions', { body: b, headers: { 'idempotency-key': key(), ...headers } });
    const shopper = await shopperHeaders(server, 'buyer-1');

    const outrightAnon = await post(body, {});
    assert.equal(outrightAnon.status, 401);
    assert.equal(outrightAnon.json.error.code, 'SERVER_CREDENTIAL_REQUIRED');
    const outright = await post(body, shopper);
    assert.equal(outright.status, 403);
    assert.equal(outright.json.error.code, 'SERVER_CREDENTIAL_REQUIRED');
    const long = await post({ ...body, hold: 'PT1H' }, shopper);
    assert.equal(long.status, 403, 'a hold longer than 15 minutes is the shop\'s to make');

    const reserved = await post({ ...body, hold: 'PT15M' }, shopper);
    assert.equal(reserved.status, 201, reserved.text);
    assert.equal(reserved.json.redemption.status, 'reserved');
    const { id } = reserved.json.redemption;

    for (const [method, path] of [['POST', `/redemptions/${id}/confirm`], ['POST', `/redemptions/${id}/revert`], ['GET', `/redemptions/${id}`]]) {
      const anon = await call(server, method, path);
      assert.equal(anon.status, 401, `${method} ${path}`);
      assert.equal(anon.json.error.code, 'SERVER_CREDENTIAL_REQUIRED');
      assert.equal((await call(server, method, path, { headers: shopper })).status, 403, `${method} ${path} as the shopper`);
    }
    const confirmed = await shop(server, 'POST', `/redemptions/${id}/confirm`);
    assert.equal(confirmed.status, 200, confirmed.text);
    assert.equal(confirmed.json.redemption.status, 'redeemed');
    const read = await shop(server, 'GET', `/redemptions/${id}`);
    assert.equal(read.json.redemption.status, 'redeemed');
    assert.equal(read.json.redemption.user_id, 'buyer-1', 'the shop\'s backend learns whose reservation it is');
  });

  test('redeem, revert without the credential, redeem again: the revert is refused and the second use too', TEST_TIMEOUT, async () => {
    const shopper = await shopperHeaders(server, 'twice-1');
    const reserve = (order) => call(server, 'POST', '/redemptions', {
      body: { order_id: order, cart: cart(), codes: ['ONCE'], hold: 'PT15M' }, headers: { 'idempotency-key': key(), ...shopper },
    });
    const first = await reserve('o-twice-1');
    assert.equal(first.status, 201, first.text);
    await shop(server, 'POST', `/redemptions/${first.json.redemption.id}/confirm`);
    const revert = await call(server, 'POST', `/redemptions/${first.json.redemption.id}/revert`, { headers: shopper });
    assert.equal(revert.status, 403);
    const second = await reserve('o-twice-2');
    assert.equal(second.status, 409);
    assert.equal(second.json.error.rejected[0].reason.code, 'USER_LIMIT_REACHED');
    assert.equal((await counters(server, 'ONCE', 'twice-1')).user_redemptions, 1);
  });

  test('reservations are limited per IP and per shopper (HOLD_LIMIT in HOLD_WINDOW_S), under a burst too', TEST_TIMEOUT, async () => {
    const reserve = (i, headers) => call(server, 'POST', '/redemptions', {
      body: { order_id: `o-burst-${i}`, cart: cart(), hold: 'PT1M' }, headers: { 'idempotency-key': key(), ...headers },
    });
    const fromIp = { 'cf-connecting-ip': '198.51.100.77' };
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => reserve(i, fromIp)));
    const made = answers.filter((r) => r.status === 201).length;
    console.log(`# reservation burst from one IP: ${made} of 40 reserved (HOLD_LIMIT 20)`);
    assert.equal(made, 20);
    for (const r of answers.filter((a) => a.status !== 201)) {
      assert.equal(r.status, 429);
      assert.equal(r.json.error.code, 'RESERVATION_LIMIT_REACHED');
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
    }
    // One shopper from many addresses is limited as a shopper.
    const shopper = await shopperHeaders(server, 'hoarder-1');
    const spread = await Promise.all(Array.from({ length: 25 }, (_, i) => reserve(`s${i}`, { ...shopper, 'cf-connecting-ip': `192.0.2.${i + 1}` })));
    assert.equal(spread.filter((r) => r.status === 201).length, 20);
    // The shop's backend is not a browser: not limited.
    const fromShop = await Promise.all(Array.from({ length: 5 }, (_, i) => redeem(server, key(), { order_id: `o-shop-${i}`, cart: cart(), hold: 'PT1M' }, fromIp)));
    assert.ok(fromShop.every((r) => r.status === 201));
  });

  test('one Idempotency-Key used by two shoppers makes two redemptions, never a replay of the other\'s', TEST_TIMEOUT, async () => {
    const shared = key();
    const reserve = async (user) => call(server, 'POST', '/redemptions', {
      body: { order_id: 'o-same', cart: cart(), codes: ['WELCOME'], hold: 'PT5M' },
      headers: { 'idempotency-key': shared, ...(await shopperHeaders(server, user)) },
    });
    const a = await reserve('key-a');
    const b = await reserve('key-b');
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    assert.equal(b.headers.get('idempotent-replayed'), null);
    assert.notEqual(a.json.redemption.id, b.json.redemption.id);
  });
});

describe('the checkout flow with the shop\'s backend (scripts/demo-shop.mjs, the stand-in)', () => {
  test('the page reserves with its token, the backend confirms on payment, reverts a failed one, and pays no one else\'s reservation', TEST_TIMEOUT, async () => {
    const backend = await startDemoShop({
      workerUrl: server.url, signingKey: server.shopperKey, redeemToken: server.redeemToken, user: { id: 'flow-1', display_name: 'Flow' },
    });
    try {
      const post = async (path, body, token) => {
        const res = await fetch(`${backend.url}${path}`, {
          method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body),
        });
        return { status: res.status, json: await res.json() };
      };
      const session = await (await fetch(`${backend.url}/session`)).json();
      assert.equal(session.user_id, 'flow-1');
      const browser = { authorization: `Bearer ${session.token}` };
      const reserve = (order) => call(server, 'POST', '/redemptions', {
        body: { order_id: order, cart: cart(), codes: ['ONCE'], hold: 'PT15M' }, headers: { 'idempotency-key': key(), ...browser },
      });

      // A declined payment: the backend reverts, the use comes back at once.
      const declined = await reserve('o-flow-declined');
      assert.equal(declined.status, 201, declined.text);
      assert.equal((await counters(server, 'ONCE', 'flow-1')).user_redemptions, 1, 'reserved');
      const failed = await post('/orders', { redemption_id: declined.json.redemption.id, fail_payment: true }, session.token);
      assert.equal(failed.status, 402);
      assert.equal(failed.json.error.code, 'PAYMENT_FAILED');
      assert.equal((await counters(server, 'ONCE', 'flow-1')).user_redemptions, 0, 'given back');

      // Paid: confirmed at the edge; a retry of the payment call answers the same order.
      const held = await reserve('o-flow-paid');
      const paid = await post('/orders', { redemption_id: held.json.redemption.id }, session.token);
      assert.equal(paid.status, 200, JSON.stringify(paid.json));
      assert.equal(paid.json.order.status, 'paid');
      assert.equal(paid.json.order.redemption.status, 'redeemed');
      assert.deepEqual((await post('/orders', { redemption_id: held.json.redemption.id }, session.token)).json, paid.json);
      assert.equal((await counters(server, 'ONCE', 'flow-1')).user_redemptions, 1);

      // Another shopper of the same shop cannot pay (or cancel) flow-1's reservation.
      assert.equal((await reserve('o-flow-again')).status, 409, 'ONCE is used: a second reservation is refused');
      const mallory = await shopperToken(server, 'mallory-2');
      const theirs = await call(server, 'POST', '/redemptions', {
        body: { order_id: 'o-flow-theirs', cart: cart(), codes: ['WELCOME'], hold: 'PT15M' }, headers: { 'idempotency-key': key(), ...browser },
      });
      const stolen = await post('/orders', { redemption_id: theirs.json.redemption.id }, mallory);
      assert.equal(stolen.status, 403);
      assert.equal(stolen.json.error.code, 'NOT_YOUR_RESERVATION');
    } finally {
      await backend.stop();
    }
  });
});
