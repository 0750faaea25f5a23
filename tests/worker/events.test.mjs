// POST /events (docs/worker.md, events): the engine decides what a user event does; the Worker
// stores it once per event id, gives bulk coupons a code from the coupon's pool exactly once, and
// the user context (tray, evaluate, /users/{id}/context) sees the events and assignments: at once
// after a user's first event, within a second after a burst (KV takes one write per key per second).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN_TOKEN, admin, call, shop, cart, eventually, manifest, publish, redeem, rfc3339, sleep, start, START_TIMEOUT, STOP_TIMEOUT, TEST_TIMEOUT } from './helpers.mjs';

const INGEST_TOKEN = 'test-ingest-token-abcdef';
const pct = (percent) => ({ type: 'percentage', percent, target: { type: 'order' } });
const bulk = (prefix) => ({ type: 'bulk', prefix, length: prefix.length + 8 });
const assigned = { type: 'assigned' };
const coupons = [
  { id: 'comeback', name: 'Come back', status: 'active', codes: bulk('CB'), audience: assigned, reward: pct('15'),
    expiry: { type: 'relative', duration: 'PT48H', from: 'assignment' },
    distribution: [{ event: 'cart_abandoned', where: { fact: 'event.properties.cart_value', op: 'gte', value: '20.00' } }] },
  { id: 'welcome', name: 'Welcome', status: 'active', codes: { type: 'static', code: 'WELCOME5' }, audience: assigned,
    reward: pct('5'), distribution: [{ event: 'signup' }] },
  { id: 'later', name: 'Later', status: 'active', codes: { type: 'static', code: 'LATER' }, audience: assigned,
    reward: pct('5'), distribution: [{ event: 'trial_started', delay: 'PT1H' }] },
  { id: 'app-first', name: 'App', status: 'active', codes: { type: 'static', code: 'APP10' },
    activation: { type: 'event', event: 'app_install' }, reward: pct('10') },
  { id: 'burst', name: 'Burst', status: 'active', codes: { type: 'static', code: 'BURST' }, audience: assigned,
    reward: pct('5'), distribution: [{ event: 'page_view' }] },
  { id: 'scarce', name: 'Scarce', status: 'active', codes: bulk('SC'), audience: assigned, reward: pct('20'),
    distribution: [{ event: 'race' }] },
  { id: 'dry', name: 'Dry', status: 'active', codes: bulk('DR'), audience: assigned, reward: pct('20'),
    distribution: [{ event: 'nothing_left' }] },
  { id: 'pausable', name: 'Pausable', status: 'active', codes: bulk('PA'), audience: assigned, reward: pct('10'),
    distribution: [{ event: 'wishlisted' }] },
  { id: 'once', name: 'Once', status: 'active', codes: bulk('ON'), audience: assigned, reward: pct('10'),
    limits: { per_user: 1 }, expiry: { type: 'relative', duration: 'PT1H', from: 'assignment' },
    distribution: [{ event: 'left_cart' }] },
  { id: 'gold-join', name: 'Gold welcome', status: 'active', codes: { type: 'static', code: 'GOLDJOIN' }, reward: pct('10'),
    activation: { type: 'event', event: 'joined', where: { fact: 'user.properties.tier', op: 'eq', value: 'gold' } } },
];

let server;
before(async () => {
  server = await start({ INGEST_TOKEN });
  await publish(server, manifest(coupons));
}, START_TIMEOUT);
after(() => server?.stop(), STOP_TIMEOUT);

let seq = 0;
const send = (body, token = INGEST_TOKEN, headers = {}) =>
  call(server, 'POST', '/events', { body, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
const event = (user, name, extra = {}) => ({ id: `evt-${++seq}`, user_id: user, name, ...extra });
const context = async (user) => (await shop(server, 'GET', `/users/${encodeURIComponent(user)}/context`)).json;
const tray = async (user) => Object.fromEntries((await shop(server, 'GET', `/coupons?user=${encodeURIComponent(user)}`)).json.map((t) => [t.coupon_id, t]));
const pool = async (coupon) => (await admin(server, 'GET', `/admin/coupons/${coupon}/pool`)).json;
const today = () => rfc3339(Date.now()).slice(0, 10);
/** Codes handed out since yesterday: a distribution counts on its event's day, and a test's events
 * may be dated an hour back (across midnight, yesterday's). */
const distributed = async (coupon) => {
  const yesterday = rfc3339(Date.now() - 86400e3).slice(0, 10);
  const { periods } = (await call(server, 'GET', `/stats/${coupon}?from=${yesterday}&to=${today()}`)).json;
  return periods.reduce((n, p) => n + p.codes_distributed, 0);
};
const evaluate = (user, codes) => shop(server, 'POST', '/evaluate', { body: { cart: cart(), codes, user: { id: user } } });
const upload = (coupon, codes, query = '?pool=true') => admin(server, 'POST', `/admin/coupons/${coupon}/codes${query}`, {
  body: `code\n${codes.join('\n')}\n`, headers: { 'content-type': 'text/csv' } });
/** Waits until the user context passes `check` (the KV copy follows a burst within a second). */
const contextWhere = async (user, check) => {
  let last;
  assert.ok(await eventually(async () => check((last = await context(user)))), `context of ${user}: ${JSON.stringify(last)?.slice(0, 300)}`);
  return last;
};
const codesOf = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}-AAAA`);

describe('auth and validation', TEST_TIMEOUT, () => {
  test('INGEST_TOKEN or ADMIN_TOKEN; anything else is 401', async () => {
    for (const token of [null, 'wrong', `${INGEST_TOKEN}x`]) {
      const res = await send(event('auth-1', 'signup'), token);
      assert.equal(res.status, 401, res.text);
      assert.equal(res.json.error.code, 'UNAUTHORIZED');
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
    }
    assert.equal((await send(event('auth-1', 'page_seen'), INGEST_TOKEN)).status, 201);
    assert.equal((await send(event('auth-1', 'page_seen'), ADMIN_TOKEN)).status, 201);
  });

  test('bad events are refused with a code and a path, and store nothing', async () => {
    const ahead = rfc3339(Date.now() + 10 * 60e3);
    const cases = [
      [{ id: 'v1', user_id: 'val-1', name: 'signup', extra: 1 }, 400, 'INVALID_REQUEST', 'extra'],
      [{ user_id: 'val-1', name: 'signup' }, 400, 'INVALID_REQUEST', 'id'],
      [{ id: 'has space', user_id: 'val-1', name: 'signup' }, 400, 'INVALID_REQUEST', 'id'],
      [{ id: 'x'.repeat(129), user_id: 'val-1', name: 'signup' }, 400, 'INVALID_REQUEST', 'id'],
      [{ id: 'v1', name: 'signup' }, 400, 'INVALID_REQUEST', 'user_id'],
      [{ id: 'v1', user_id: 'u'.repeat(129), name: 'signup' }, 400, 'INVALID_REQUEST', 'user_id'],
      [{ id: 'v1', user_id: 'val-1' }, 400, 'INVALID_REQUEST', 'name'],
      [{ id: 'v1', user_id: 'val-1', name: 'n'.repeat(65) }, 400, 'INVALID_REQUEST', 'name'], // the engine's limit
      [{ id: 'v1', user_id: 'val-1', name: 'signup', at: 'yesterday' }, 400, 'INVALID_TIME', 'at'],
      [{ id: 'v1', user_id: 'val-1', name: 'signup', at: ahead }, 400, 'EVENT_IN_FUTURE', 'at'],
      [{ id: 'v1', user_id: 'val-1', name: 'signup', properties: [1] }, 400, 'INVALID_REQUEST', 'properties'],
      [[{ id: 'v1' }], 400, 'INVALID_REQUEST', ''],
      [{ id: 'v1', user_id: 'val-1', name: 'signup', properties: { blob: 'x'.repeat(70_000) } }, 413, 'BODY_TOO_LARGE', undefined],
    ];
    for (const [body, status, code, path] of cases) {
      const res = await send(body);
      assert.equal(res.status, status, `${JSON.stringify(body).slice(0, 80)}: ${res.text.slice(0, 200)}`);
      assert.equal(res.json.error.code, code);
      assert.equal(res.json.error.path, path);
    }
    assert.equal((await send('{"id":')).json.error.code, 'INVALID_JSON');
    assert.equal((await send('id=1', INGEST_TOKEN, { 'content-type': 'text/plain' })).status, 415);
    // Nothing was stored under v1: the corrected event is new (201), not a conflict.
    const ok = await send({ id: 'v1', user_id: 'val-1', name: 'signup', at: rfc3339(Date.now() + 60e3) });
    assert.equal(ok.status, 201, 'a minute ahead is within the allowed clock skew');
    assert.deepEqual(ok.json.assigned.map((a) => a.coupon_id), ['welcome']);
  });
});

describe('distribution', TEST_TIMEOUT, () => {
  test('a pooled bulk code: given by the event, in the tray and the context, and it prices', async () => {
    const codes = codesOf('CB', 5);
    const up = await upload('comeback', codes);
    assert.equal(up.status, 201, up.text);
    assert.deepEqual(up.json, { coupon_id: 'comeback', imported: 5, pooled: 5, available: 5 });
    assert.deepEqual(await pool('comeback'), { coupon_id: 'comeback', available: 5, given: 0 });
    const before = await evaluate('dist-1', ['CB0000AAAA']);
    assert.equal(before.json.rejected[0].reason.code, 'NOT_ASSIGNED');

    const at = rfc3339(Date.now() - 60e3);
    const body = event('dist-1', 'cart_abandoned', { at, properties: { cart_value: '25.00' } });
    const res = await send(body);
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.json, {
      event_id: body.id, user_id: 'dist-1', name: 'cart_abandoned', at,
      assigned: [{ coupon_id: 'comeback', assigned_at: at, code: 'CB0000AAAA' }], activated: [], skipped: [],
    });
    assert.deepEqual(await pool('comeback'), { coupon_id: 'comeback', available: 4, given: 1 });
    assert.equal(await distributed('comeback'), 1);

    const ctx = await context('dist-1');
    assert.deepEqual(ctx.assignments, [{ coupon_id: 'comeback', assigned_at: at, code: 'CB0000AAAA' }]);
    assert.deepEqual(ctx.events, [{ id: body.id, name: 'cart_abandoned', at, properties: { cart_value: '25.00' } }]);
    const t = await tray('dist-1');
    assert.equal(t.comeback.code, 'CB0000AAAA');
    assert.equal(t.comeback.assigned_at, at);
    assert.equal(t.comeback.expires_at, rfc3339(Date.parse(at) + 48 * 3600e3), 'relative expiry counts from the assignment');
    const priced = await evaluate('dist-1', ['CB-0000-AAAA']);
    assert.deepEqual(priced.json.applied.map((a) => [a.coupon_id, a.discount, a.verification]), [['comeback', '15.00', 'full']]);

    // Replay: the same answer, 200 and the header; nothing changes anywhere.
    const replay = await send(body);
    assert.equal(replay.status, 200);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal(replay.text, res.text);
    assert.deepEqual(await pool('comeback'), { coupon_id: 'comeback', available: 4, given: 1 });
    assert.equal(await distributed('comeback'), 1);
    assert.deepEqual(await context('dist-1'), ctx);

    // The same id with another body: 409, nothing changes.
    const conflict = await send({ ...body, properties: { cart_value: '99.00' } });
    assert.equal(conflict.status, 409);
    assert.equal(conflict.json.error.code, 'EVENT_ID_CONFLICT');
    assert.equal(conflict.json.error.event_id, body.id);
    // Abandoned again while the coupon is held: the engine's ALREADY_ASSIGNED; no code given.
    const again = await send(event('dist-1', 'cart_abandoned', { properties: { cart_value: '30.00' } }));
    assert.deepEqual(again.json.skipped.map((s) => [s.coupon_id, s.reason.code]), [['comeback', 'ALREADY_ASSIGNED']]);
    assert.deepEqual(await pool('comeback'), { coupon_id: 'comeback', available: 4, given: 1 });
    await contextWhere('dist-1', (c) => c.events?.length === 2);
  });

  test('a failed condition, a plain assignment, a delayed one, an activation', async () => {
    const low = await send(event('dist-2', 'cart_abandoned', { properties: { cart_value: '5.00' } }));
    assert.equal(low.status, 201);
    assert.equal(low.json.skipped[0].reason.code, 'EVENT_CONDITION_FAILED');
    assert.equal(low.json.skipped[0].reason.fact, 'event.properties.cart_value');
    assert.deepEqual(low.json.assigned, []);

    const signup = await send(event('dist-2', 'signup'));
    assert.deepEqual(signup.json.assigned, [{ coupon_id: 'welcome', assigned_at: signup.json.at }], 'no code: the static one');
    await contextWhere('dist-2', (c) => c.assignments?.some((a) => a.coupon_id === 'welcome'));
    assert.equal((await tray('dist-2')).welcome.code, 'WELCOME5');
    assert.deepEqual((await evaluate('dist-2', ['WELCOME5'])).json.applied.map((a) => a.coupon_id), ['welcome']);

    const at = rfc3339(Date.now() - 60e3);
    const trial = await send(event('dist-2', 'trial_started', { at }));
    assert.deepEqual(trial.json.assigned, [{ coupon_id: 'later', assigned_at: rfc3339(Date.parse(at) + 3600e3) }]);
    await contextWhere('dist-2', (c) => c.assignments?.some((a) => a.coupon_id === 'later'));
    assert.equal((await evaluate('dist-2', ['LATER'])).json.rejected[0].reason.code, 'NOT_ASSIGNED', 'not before its time');

    assert.equal((await evaluate('dist-2', ['APP10'])).json.applied.length, 0);
    const install = await send(event('dist-2', 'app_install', { at }));
    assert.deepEqual(install.json.activated, [{ coupon_id: 'app-first', at }]);
    await contextWhere('dist-2', (c) => c.events?.some((e) => e.name === 'app_install'));
    assert.deepEqual((await evaluate('dist-2', ['APP10'])).json.applied.map((a) => a.coupon_id), ['app-first']);
    const second = await send(event('dist-2', 'app_install'));
    assert.deepEqual(second.json.activated, [], 'only the first event activates');
  });

  test('an empty pool: skipped with CODE_POOL_EMPTY, nothing assigned or counted', async () => {
    const res = await send(event('dry-1', 'nothing_left'));
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.json.assigned, []);
    assert.deepEqual(res.json.skipped.map((s) => [s.coupon_id, s.reason.code]), [['dry', 'CODE_POOL_EMPTY']]);
    assert.equal((await context('dry-1')).assignments, undefined);
    assert.deepEqual(await pool('dry'), { coupon_id: 'dry', available: 0, given: 0 });
    assert.equal(await distributed('dry'), 0);
  });

  test('pool uploads: CSV only, a true/false flag, bulk coupons of the manifest', async () => {
    const json = await admin(server, 'POST', '/admin/coupons/dry/codes?pool=true', { body: '[]', headers: { 'content-type': 'application/json' } });
    assert.equal(json.status, 400);
    assert.equal(json.json.error.code, 'INVALID_REQUEST');
    assert.equal((await upload('dry', ['DR-0000-AAAA'], '?pool=yes')).json.error.code, 'INVALID_QUERY');
    assert.equal((await upload('welcome', ['WELCOME5'])).json.error.code, 'NOT_BULK_COUPON');
    assert.equal((await admin(server, 'GET', '/admin/coupons/nope/pool')).status, 404);
    assert.equal((await call(server, 'GET', '/admin/coupons/dry/pool')).status, 401);
    // Registered without ?pool: the code works when typed, but no event can give it.
    assert.deepEqual((await upload('dry', ['DR-0000-AAAA'], '')).json, { coupon_id: 'dry', imported: 1 });
    assert.equal((await pool('dry')).available, 0);
    // The same code twice in a pool is one code.
    assert.equal((await upload('dry', ['DR-0001-AAAA', 'DR-0001-AAAA'])).json.pooled, 1);
    assert.equal((await upload('dry', ['DR-0001-AAAA'])).json.pooled, 0);
  });
});

describe('overrides, limits and activations', TEST_TIMEOUT, () => {
  test('a coupon paused at the edge is not given (PAUSED), no code spent or counted; resumed, the next event gives it', async () => {
    assert.equal((await upload('pausable', codesOf('PA', 2))).json.pooled, 2);
    const paused = await admin(server, 'PUT', '/admin/coupons/pausable/status', { body: { status: 'paused' } });
    assert.equal(paused.status, 200, paused.text);

    const res = await send(event('pause-1', 'wishlisted'));
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.json.assigned, []);
    assert.deepEqual(res.json.skipped, [{ coupon_id: 'pausable', reason: { code: 'PAUSED', message: 'this coupon is paused for now', status: 'paused' } }]);
    assert.deepEqual(await pool('pausable'), { coupon_id: 'pausable', available: 2, given: 0 });
    assert.equal(await distributed('pausable'), 0);
    await contextWhere('pause-1', (c) => c.events?.length === 1);
    assert.equal((await context('pause-1')).assignments, undefined);

    await admin(server, 'PUT', '/admin/coupons/pausable/status', { body: { status: 'active' } });
    const resumed = await send(event('pause-1', 'wishlisted'));
    assert.deepEqual(resumed.json.assigned.map((a) => [a.coupon_id, a.code]), [['pausable', 'PA0000AAAA']]);
    assert.deepEqual(resumed.json.skipped, []);
    assert.deepEqual(await pool('pausable'), { coupon_id: 'pausable', available: 1, given: 1 });
    assert.equal(await distributed('pausable'), 1);
  });

  test('a per_user: 1 coupon the user has redeemed is not given again (USER_LIMIT_REACHED), held or expired', async () => {
    assert.equal((await upload('once', codesOf('ON', 3))).json.pooled, 3);
    // An event dated so that its assignment (valid for an hour) ends 6 seconds from now.
    const at = rfc3339(Date.now() - 3600e3 + 6000);
    const first = await send(event('once-1', 'left_cart', { at }));
    assert.deepEqual(first.json.assigned, [{ coupon_id: 'once', assigned_at: at, code: 'ON0000AAAA' }], first.text);
    const order = await redeem(server, 'once-1-order', { order_id: 'once-1-o1', cart: cart(), codes: ['ON0000AAAA'], user: { id: 'once-1' } });
    assert.equal(order.status, 201, order.text);

    // While the assignment is live: the limit (the engine checks it before ALREADY_ASSIGNED).
    const held = await send(event('once-1', 'left_cart'));
    assert.deepEqual(held.json.assigned, []);
    assert.deepEqual(held.json.skipped.map((x) => [x.coupon_id, x.reason.code]), [['once', 'USER_LIMIT_REACHED']], held.text);

    // Once it has expired, the engine would assign again; the counters say she has used it.
    await sleep(Math.max(0, Date.parse(at) + 3600e3 - Date.now()) + 500);
    assert.equal((await tray('once-1')).once, undefined, 'the assignment has expired');
    const later = await send(event('once-1', 'left_cart'));
    assert.deepEqual(later.json.assigned, []);
    assert.deepEqual(later.json.skipped.map((x) => [x.coupon_id, x.reason.code]), [['once', 'USER_LIMIT_REACHED']], later.text);
    assert.deepEqual(await pool('once'), { coupon_id: 'once', available: 2, given: 1 }, 'no code spent on her');
    assert.equal(await distributed('once'), 1);

    // Another shopper still gets one.
    const other = await send(event('once-2', 'left_cart'));
    assert.deepEqual(other.json.assigned.map((a) => a.code), ['ON0001AAAA']);
  });

  test('an activation is stored: in the user context, and it stays when its where rule no longer holds', async () => {
    const putUser = (profile) => admin(server, 'PUT', '/admin/users/act-1', { body: profile });
    assert.equal((await putUser({ properties: { tier: 'gold' } })).status, 200);
    const at = rfc3339(Date.now() - 60e3);
    const joined = await send(event('act-1', 'joined', { at }));
    assert.deepEqual(joined.json.activated, [{ coupon_id: 'gold-join', at }], joined.text);
    const ctx = await contextWhere('act-1', (c) => c.activations !== undefined);
    assert.deepEqual(ctx.activations, [{ coupon_id: 'gold-join', at }]);
    assert.deepEqual((await evaluate('act-1', ['GOLDJOIN'])).json.applied.map((a) => a.coupon_id), ['gold-join']);

    // No longer gold: worked out from the events again, the activation would be gone; stored, it stays.
    assert.equal((await putUser({ properties: { tier: 'silver' } })).status, 200);
    await contextWhere('act-1', (c) => c.properties?.tier === 'silver');
    assert.deepEqual((await evaluate('act-1', ['GOLDJOIN'])).json.applied.map((a) => a.coupon_id), ['gold-join']);
    // A later event activates nothing and moves nothing; the client cannot say otherwise either.
    assert.deepEqual((await send(event('act-1', 'joined'))).json.activated, []);
    const forged = await shop(server, 'POST', '/evaluate', {
      body: { cart: cart(), codes: ['GOLDJOIN'], user: { id: 'act-2', activations: [{ coupon_id: 'gold-join', at }] } } });
    assert.equal(forged.json.rejected[0].reason.code, 'NOT_ACTIVATED', 'activations in a request are ignored');
    assert.deepEqual((await contextWhere('act-1', (c) => c.events?.length === 2)).activations, [{ coupon_id: 'gold-join', at }]);
  });
});

describe('concurrency', TEST_TIMEOUT, () => {
  test('20 events of one user at once run one at a time: one assignment, 19 ALREADY_ASSIGNED, all logged', async () => {
    const bodies = Array.from({ length: 20 }, () => event('burst-1', 'page_view'));
    const results = await Promise.all(bodies.map((b) => send(b)));
    assert.deepEqual(results.map((r) => r.status), Array(20).fill(201));
    assert.equal(results.filter((r) => r.json.assigned.length === 1).length, 1);
    assert.equal(results.filter((r) => r.json.skipped[0]?.reason.code === 'ALREADY_ASSIGNED').length, 19);
    await contextWhere('burst-1', (c) => c.events?.length === 20);
    assert.equal(await distributed('burst'), 1);
    // Duplicates of one event at once: one first answer, the rest its replays.
    const dup = event('burst-2', 'page_view');
    const dups = await Promise.all(Array.from({ length: 5 }, () => send(dup)));
    assert.deepEqual(dups.map((r) => r.status).sort(), [200, 200, 200, 200, 201]);
    assert.equal(new Set(dups.map((r) => r.text)).size, 1);
    assert.equal(await distributed('burst'), 2);
  });

  test('30 users race for a pool of 10 codes: exactly 10 given, each once', async () => {
    const up = await upload('scarce', codesOf('SC', 10));
    assert.equal(up.json.pooled, 10);
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => send(event(`racer-${i}`, 'race'))));
    assert.deepEqual(results.map((r) => r.status), Array(30).fill(201));
    const given = results.flatMap((r) => r.json.assigned.map((a) => a.code));
    assert.equal(given.length, 10);
    assert.equal(new Set(given).size, 10, 'no code twice');
    assert.deepEqual(given.sort(), codesOf('SC', 10).map((c) => c.replace(/-/g, '')).sort());
    assert.equal(results.filter((r) => r.json.skipped[0]?.reason.code === 'CODE_POOL_EMPTY').length, 20);
    assert.deepEqual(await pool('scarce'), { coupon_id: 'scarce', available: 0, given: 10 });
    assert.equal(await distributed('scarce'), 10);
  });
});

describe('the log', TEST_TIMEOUT, () => {
  test('capped at 200 events; the first event of each name stays', async () => {
    const start = Date.now() - 3600e3;
    assert.equal((await send(event('log-1', 'app_install', { at: rfc3339(start) }))).status, 201);
    const views = Array.from({ length: 210 }, (_, i) => event('log-1', 'viewed', { at: rfc3339(start + (i + 1) * 1000) }));
    const results = await Promise.all(views.map((b) => send(b)));
    assert.ok(results.every((r) => r.status === 201));
    const { events } = await contextWhere('log-1', (c) => c.events?.at(-1).id === views[209].id);
    assert.equal(events.length, 200);
    assert.equal(events[0].name, 'app_install');
    assert.equal(events[1].id, views[0].id, 'the first "viewed" stays too');
    assert.equal(events[199].id, views[209].id);
    // The activation it made still holds.
    assert.deepEqual((await evaluate('log-1', ['APP10'])).json.applied.map((a) => a.coupon_id), ['app-first']);
  });
});

describe('a restart', TEST_TIMEOUT, () => {
  test('a restart with events in flight: those stored are in the user context without a retry, and replay after it', async (t) => {
    // One event for each of 200 users, and the Worker stopped while they are in flight. An event
    // stored whose KV copy was not yet written is healed by the alarm set with the store (that
    // window is narrow and hit only by chance here: the diagnostics say how many were stored but
    // unanswered, and those may well have had their copy written before the stop).
    const bodies = Array.from({ length: 200 }, (_, i) => event(`crash-${i}`, 'page_seen'));
    // Sent once each, with no retry of any kind (helpers.mjs `call` retries a restarted request).
    const once = (b) => fetch(`${server.url}/events`, {
      method: 'POST', body: JSON.stringify(b), headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
    }).then((r) => r.status, () => 0);
    const inflight = Promise.all(bodies.map(once));
    await sleep(150);
    await server.restart();
    const first = await inflight;
    t.diagnostic(`answered before the restart: ${first.filter((s) => s === 201).length} of ${bodies.length}`);
    await sleep(3000); // the alarms are due a second after each store
    const before = await Promise.all(bodies.map(async (b) => (await context(b.user_id)).events?.some((e) => e.id === b.id) ?? false));
    // Now the producer retries: a replay (200) means the event was stored before the restart.
    const retried = await Promise.all(bodies.map((b) => send(b)));
    let healed = 0;
    retried.forEach((r, i) => {
      assert.ok([200, 201].includes(r.status), r.text);
      if (r.status === 200) {
        assert.ok(before[i], `event ${bodies[i].id} was stored before the restart; its copy was not written`);
        if (first[i] !== 201) healed++;
      }
    });
    t.diagnostic(`stored but unanswered at the restart, in the context before any retry: ${healed}`);
  });
});
