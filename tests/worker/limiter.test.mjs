// The failed-code limiter under bursts (issue 15, point 3): a request with codes takes its slots
// from the AttemptLimiter before it is priced, so however many requests arrive at once, one IP gets
// at most ATTEMPT_LIMIT answers that are not 429 per window, and no code, valid or not, is
// evaluated once the window is full. Valid codes give their slots back. The measured figures are
// printed ("# ...") beside the assertions.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, cart, manifest, publish, redeem, shop, sleep, start, START_TIMEOUT, STOP_TIMEOUT, TEST_TIMEOUT } from './helpers.mjs';

const LIMIT = 10;
const coupons = [
  { id: 'save10', name: 'Save 10', status: 'active', codes: { type: 'static', code: 'SAVE10' },
    reward: { type: 'percentage', percent: '10', target: { type: 'order' } } },
];

let ipSeq = 0;
// Each test comes from its own client IP, so one test's budget does not affect another's.
const ip = () => ({ 'cf-connecting-ip': `203.0.113.${++ipSeq}` });
const evaluate = (server, codes, headers) => call(server, 'POST', '/evaluate', { body: { cart: cart(), codes }, headers });
const nonLocked = (answers) => answers.filter((r) => r.status !== 429);

describe('bursts against the attempt limiter', TEST_TIMEOUT, () => {
  let server;
  before(async () => {
    server = await start({ ATTEMPT_LIMIT: String(LIMIT) });
    await publish(server, manifest(coupons));
  }, START_TIMEOUT);
  after(() => server?.stop(), STOP_TIMEOUT);

  test('300 concurrent redemptions with a wrong code each: at most ATTEMPT_LIMIT are answered', async () => {
    const from = ip();
    const answers = await Promise.all(Array.from({ length: 300 }, (_, i) =>
      redeem(server, `burst-${i}`, { order_id: `o${i}`, cart: cart(), codes: [`WRONG${i}`] }, from)));
    const passed = nonLocked(answers);
    console.log(`# redemptions burst: ${passed.length} non-429 of 300 (limit ${LIMIT})`);
    assert.ok(passed.length <= LIMIT, `${passed.length} answers were not 429`);
    for (const r of passed) assert.equal(r.json?.error?.code, 'CODES_REJECTED', r.text);
    for (const r of answers.filter((a) => a.status === 429)) {
      assert.equal(r.json.error.code, 'CODE_ATTEMPTS_LOCKED');
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
    }
    // The lockout holds afterwards too, for a valid code.
    const valid = await redeem(server, 'burst-valid', { order_id: 'ov', cart: cart(), codes: ['SAVE10'] }, from);
    assert.equal(valid.status, 429);
  });

  test('100 concurrent evaluations with one valid code placed late: no code is evaluated past the limit', async () => {
    const from = ip();
    const VALID_AT = 73; // the 74th request
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) =>
      evaluate(server, [i === VALID_AT ? 'SAVE10' : `WRONG${i}`], from)));
    const passed = nonLocked(answers);
    const valid = answers[VALID_AT];
    const applied = valid.json?.applied?.some((a) => a.coupon_id === 'save10') ?? false;
    console.log(`# evaluate burst: ${passed.length} non-429 of 100 (limit ${LIMIT}); valid code at request ${VALID_AT + 1}: ${valid.status}${applied ? ', applied' : ''}`);
    assert.ok(passed.length <= LIMIT, `${passed.length} answers were not 429`);
    for (const r of passed) assert.equal(r.status, 200, r.text);
    // A 429 carries the error only: no evaluation, so it tells nothing about the code it carried.
    for (const r of answers.filter((a) => a.status === 429)) {
      assert.deepEqual(Object.keys(r.json), ['error']);
      assert.equal(r.json.error.code, 'CODE_ATTEMPTS_LOCKED');
    }
    if (valid.status === 200) assert.ok(applied, 'a valid code answered 200 applies');
    else assert.equal(valid.status, 429);
  });

  test('valid codes do not use up the budget; only failures do', async () => {
    const from = ip();
    for (let i = 0; i < 30; i++) {
      const res = await evaluate(server, ['SAVE10'], from);
      assert.equal(res.status, 200, `valid evaluation ${i + 1}: ${res.text}`);
      assert.equal(res.json.applied[0]?.coupon_id, 'save10');
    }
    // The whole budget is still there: LIMIT - 1 failures are answered, the one that reaches it is 429.
    for (let i = 0; i < LIMIT - 1; i++) assert.equal((await evaluate(server, [`BAD${i}`], from)).status, 200);
    assert.equal((await evaluate(server, ['BADLAST'], from)).status, 429);
  });

  test('a replayed redemption is not counted again; a refused one counts its failed codes', async () => {
    const from = ip();
    const body = { order_id: 'replay', cart: cart(), codes: ['NOPE1', 'NOPE2'] };
    const first = await redeem(server, 'replay-1', body, from);
    assert.equal(first.status, 409);
    assert.equal(first.json.error.code, 'CODES_REJECTED');
    for (let i = 0; i < 20; i++) {
      const again = await redeem(server, 'replay-1', body, from);
      assert.equal(again.status, 409, again.text);
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
    }
    // Two failures so far: LIMIT - 3 more are answered, the one that reaches LIMIT is 429.
    for (let i = 0; i < LIMIT - 3; i++) assert.equal((await evaluate(server, [`MISS${i}`], from)).status, 200);
    assert.equal((await evaluate(server, ['MISSLAST'], from)).status, 429);
  });

  test("the shop's server counts against the user it names, not its address, which every shopper shares", async () => {
    const from = ip();
    const viaShop = (user, codes) => shop(server, 'POST', '/evaluate', { body: { cart: cart(), ...(user ? { user: { id: user } } : {}), codes }, headers: from });
    // LIMIT shoppers each mistype a code at the shop: none of them reaches a limit, nor does the shop.
    for (let i = 0; i < LIMIT; i++) assert.equal((await viaShop(`typo-${i}`, [`WRONG${i}`])).status, 200);
    const innocent = await viaShop('innocent', ['SAVE10']);
    assert.equal(innocent.status, 200, innocent.text);
    assert.equal(innocent.json.applied[0]?.coupon_id, 'save10');
    // One shopper guessing at the shop is locked out, alone.
    const guesses = await Promise.all(Array.from({ length: LIMIT + 5 }, (_, i) => viaShop('guesser', [`GUESS${i}`])));
    assert.ok(nonLocked(guesses).length <= LIMIT, `${nonLocked(guesses).length} answers were not 429`);
    assert.equal((await viaShop('guesser', ['SAVE10'])).status, 429);
    assert.equal((await viaShop('innocent', ['SAVE10'])).status, 200);
    // The shop's calls without a user count against its address, as a browser's do.
    const anonymous = await Promise.all(Array.from({ length: LIMIT + 5 }, (_, i) => viaShop(null, [`ANON${i}`])));
    assert.ok(nonLocked(anonymous).length <= LIMIT, `${nonLocked(anonymous).length} answers were not 429`);
    assert.equal((await viaShop(null, ['SAVE10'])).status, 429);
    assert.equal((await viaShop('innocent', ['SAVE10'])).status, 200, 'a named user is not held by the address');
  });

  test('a request with more codes than ATTEMPT_LIMIT could never fit: 413 LIMIT_EXCEEDED, nothing counted', async () => {
    const from = ip();
    const res = await evaluate(server, Array.from({ length: LIMIT + 1 }, (_, i) => `MANY${i}`), from);
    assert.equal(res.status, 413);
    assert.deepEqual([res.json.error.code, res.json.error.what, res.json.error.limit, res.json.error.actual], ['LIMIT_EXCEEDED', 'codes', LIMIT, LIMIT + 1]);
    assert.equal((await evaluate(server, ['SAVE10'], from)).status, 200);
  });
});

describe('a lockout ends', TEST_TIMEOUT, () => {
  let server;
  before(async () => {
    server = await start({ ATTEMPT_LIMIT: '3', ATTEMPT_WINDOW_S: '2', ATTEMPT_LOCKOUT_S: '2' });
    await publish(server, manifest(coupons));
  }, START_TIMEOUT);
  after(() => server?.stop(), STOP_TIMEOUT);

  test('after ATTEMPT_LOCKOUT_S and the window, codes are evaluated again', async () => {
    const from = ip();
    assert.equal((await evaluate(server, ['X1'], from)).status, 200);
    assert.equal((await evaluate(server, ['X2'], from)).status, 200);
    const third = await evaluate(server, ['X3'], from);
    assert.equal(third.status, 429);
    assert.ok(Number(third.headers.get('retry-after')) <= 2, third.headers.get('retry-after'));
    assert.equal((await evaluate(server, ['SAVE10'], from)).status, 429);
    await sleep(2500);
    const valid = await evaluate(server, ['SAVE10'], from);
    assert.equal(valid.status, 200, valid.text);
    assert.equal(valid.json.applied[0]?.coupon_id, 'save10');
    assert.equal((await evaluate(server, ['X4'], from)).status, 200);
  });
});
