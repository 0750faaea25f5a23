// The console's API (docs/worker.md, "The console"), inside workerd: the session cookie and its
// CSRF header, the coupon list and settings in words, versions and restore, signing with the
// Worker's key (offset tables as couponctl writes them) and checking without publishing, code
// generation (as couponctl makes codes), upload refusals by line, the stats of all coupons, and
// archiving at the edge.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ADMIN_TOKEN, admin, call, cart, generatedCode, rfc3339, shop, redeem, sleep, start, START_TIMEOUT, STOP_TIMEOUT, TEST_TIMEOUT,
} from './helpers.mjs';
import { ROOT } from './server.mjs';

const DAY = 86400e3;
const LATER = rfc3339(Date.now() + 7 * DAY); // fixed, so every payload() has the same coupon JSON
const coupons = () => [
  { id: 'save10', name: 'Save 10', status: 'active', codes: { type: 'static', code: 'SAVE10' },
    conditions: { fact: 'cart.subtotal', op: 'gte', value: '20.00' },
    reward: { type: 'percentage', percent: '10', target: { type: 'order' } }, limits: { per_user: 3 } },
  { id: 'points', name: 'Points back', status: 'active', codes: { type: 'automatic' }, limits: { global: 1000 },
    reward: { type: 'cashback', points: 50 } },
  { id: 'later', name: 'Starts next week', status: 'active', codes: { type: 'static', code: 'LATER5' },
    activation: { type: 'time', at: LATER },
    reward: { type: 'fixed_amount', amount: '5.00', target: { type: 'order' } } },
  { id: 'welcome', name: 'Welcome back', status: 'active', codes: { type: 'static', code: 'WELCOME' }, audience: { type: 'assigned' },
    distribution: [{ event: 'signed_up' }], reward: { type: 'fixed_amount', amount: '3.00', target: { type: 'order' } } },
  // Generated codes without "check": only their stored hashes make them genuine at the edge.
  { id: 'gen', name: 'Generated', status: 'active', codes: { type: 'bulk', prefix: 'GEN', length: 16 },
    reward: { type: 'fixed_amount', amount: '7.00', target: { type: 'order' } } },
  { id: 'partner', name: 'Partner codes', status: 'active', codes: { type: 'bulk', prefix: 'PART', length: 10 },
    reward: { type: 'fixed_amount', amount: '4.00', target: { type: 'order' } } },
];

const ISSUED = '2026-01-01T00:00:00Z';
/** A payload valid through 2026 (and at least a month from now), in Berlin, a schedule in Kolkata. */
const payload = (list = coupons(), extra = {}) => ({
  version: 1, id: 'console-tests', issued_at: ISSUED,
  expires_at: rfc3339(Math.max(Date.parse('2027-01-01T00:00:00Z'), Date.now() + 30 * DAY)),
  currency: 'USD', settings: { time_zone: 'Europe/Berlin' },
  coupons: list.map((c) => (c.id === 'points'
    ? { ...c, schedule: { time_zone: 'Asia/Kolkata', days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], hours: [{ from: '00:00', to: '24:00' }] } }
    : c)),
  ...extra,
});

const jwsPayload = (jws) => JSON.parse(Buffer.from(jws.split('.')[1], 'base64url').toString('utf8'));

let server;
let cookie;
const seen = []; // every answer's text, headers and the URLs asked: none may carry the token

/** A request as the console makes it: the session cookie and X-Requested-With. */
async function consoleCall(method, pathname, opts = {}) {
  const res = await call(server, method, pathname, {
    ...opts, headers: { cookie, 'x-requested-with': 'console', ...(opts.headers ?? {}) },
  });
  seen.push(pathname, res.text, JSON.stringify([...res.headers]));
  return res;
}

before(async () => {
  server = await start({}, { manifestSigningKey: true });
}, START_TIMEOUT);
after(() => server?.stop(), STOP_TIMEOUT);

describe('the console session', TEST_TIMEOUT, () => {
  test('the admin token signs in once; then only an HttpOnly SameSite=Strict cookie', async () => {
    let res = await call(server, 'POST', '/console/session', { body: { token: 'wrong' } });
    assert.equal(res.status, 401);
    assert.equal(res.json.error.code, 'UNAUTHORIZED');
    res = await call(server, 'GET', '/console/session');
    assert.equal(res.status, 401);
    assert.equal(res.json.error.code, 'CONSOLE_SIGNED_OUT');

    res = await call(server, 'POST', '/console/session', { body: { token: ADMIN_TOKEN } });
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
    const set = res.headers.get('set-cookie');
    assert.match(set, /^console_session=\d+\.[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=28800$/);
    assert.ok(!set.includes(ADMIN_TOKEN));
    assert.ok(!/Secure/.test(set), 'plain http here; Secure is added for https');
    cookie = set.split(';')[0];

    res = await consoleCall('GET', '/console/session');
    assert.equal(res.status, 200);
    assert.equal(res.json.signed_in, true);
    const left = Date.parse(res.json.expires_at) - Date.now();
    assert.ok(left > 7.9 * 3600e3 && left <= 8 * 3600e3, res.json.expires_at);
  });

  test('admin routes take the cookie with X-Requested-With: console, else 403; nothing at all is 401', async () => {
    let res = await call(server, 'GET', '/admin/manifests', { headers: { cookie } });
    assert.equal(res.status, 403);
    assert.equal(res.json.error.code, 'CSRF_HEADER_REQUIRED');
    res = await call(server, 'PUT', '/admin/coupons/x/status', { headers: { cookie }, body: { status: 'paused' } });
    assert.equal(res.status, 403);
    res = await call(server, 'GET', '/admin/manifests', { headers: { 'x-requested-with': 'console' } });
    assert.equal(res.status, 401);
    assert.equal(res.json.error.code, 'UNAUTHORIZED');
    const [expiry] = cookie.split('=')[1].split('.');
    const forged = `console_session=${Number(expiry) + 3600}.${'A'.repeat(43)}`;
    res = await call(server, 'GET', '/admin/manifests', { headers: { cookie: forged, 'x-requested-with': 'console' } });
    assert.equal(res.status, 401);
    res = await consoleCall('GET', '/admin/manifests');
    assert.equal(res.status, 200);
    res = await admin(server, 'GET', '/admin/manifests');
    assert.equal(res.status, 200, 'the bearer token works as before');
  });
});

describe('signing, checking and versions', { timeout: 400_000 }, () => {
  let first;
  test('without a published manifest, a refused payload is 422 with its field path; nothing is published', async () => {
    const bad = payload();
    bad.coupons[0].reward.percent = '120';
    let res = await consoleCall('POST', '/admin/manifest/check', { body: bad });
    assert.equal(res.status, 422);
    assert.equal(res.json.error.code, 'MANIFEST_INVALID');
    assert.equal(res.json.error.path, 'coupons[0].reward.percent');
    res = await consoleCall('POST', '/admin/manifest/sign', { body: bad });
    assert.equal(res.status, 422);
    assert.equal(res.json.error.path, 'coupons[0].reward.percent');
    res = await consoleCall('POST', '/admin/manifest/check', { body: payload() });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { ok: true, coupons: 6 });
    res = await call(server, 'GET', '/manifest');
    assert.equal(res.status, 503, 'check publishes nothing');
  });

  test('sign fills the offset tables as couponctl sign does and publishes', async () => {
    const p = payload();
    const res = await consoleCall('POST', '/admin/manifest/sign', { body: p });
    assert.equal(res.status, 201, res.text);
    first = res.json;
    assert.equal(first.manifest_id, 'console-tests');
    const served = await call(server, 'GET', '/manifest');
    assert.equal(served.headers.get('etag'), first.etag);
    const [header] = served.text.split('.');
    assert.deepEqual(JSON.parse(Buffer.from(header, 'base64url')), { alg: 'EdDSA', kid: 'test-key-1' });
    const zones = jwsPayload(served.text).time_zones;

    // couponctl sign, from the system's zone database, over the same validity.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-zones-'));
    fs.writeFileSync(path.join(dir, 'm.json'), JSON.stringify(p));
    const jws = execFileSync('cargo', ['run', '-q', '--features', 'cli', '--bin', 'couponctl', '--', 'sign',
      '--key', 'tests/keys/test-signing-key.jwk.json', '--now', ISSUED, path.join(dir, 'm.json')],
    { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
    fs.rmSync(dir, { recursive: true, force: true });
    const expected = jwsPayload(jws.trim()).time_zones;
    assert.deepEqual(zones['Europe/Berlin'], expected['Europe/Berlin']);
    assert.deepEqual(zones['Asia/Kolkata'], expected['Asia/Kolkata']);
    assert.deepEqual(zones['Europe/Berlin'].slice(0, 3), [
      { from: '2025-10-26T01:00:00Z', offset: '+01:00' },
      { from: '2026-03-29T01:00:00Z', offset: '+02:00' },
      { from: '2026-10-25T01:00:00Z', offset: '+01:00' },
    ]);
    assert.deepEqual(zones['Asia/Kolkata'], [{ from: '1945-10-14T17:30:00Z', offset: '+05:30' }]);
  }, { timeout: 170_000 });

  test('versions: newest first with their changes; one read back; restore; an expired one is 409', async () => {
    await sleep(1100); // published_at has whole seconds
    const changed = coupons();
    changed[0].reward.percent = '15';
    changed.splice(3, 1); // welcome removed
    changed.push({ id: 'extra', name: 'Extra', status: 'draft', codes: { type: 'static', code: 'EXTRA1' },
      reward: { type: 'fixed_amount', amount: '1.00', target: { type: 'order' } } });
    let res = await consoleCall('POST', '/admin/manifest/sign', { body: payload(changed) });
    assert.equal(res.status, 201);
    const second = res.json;

    res = await consoleCall('GET', '/admin/manifests');
    assert.equal(res.status, 200);
    const [v2, v1] = res.json.versions;
    assert.equal(v2.version, second.version);
    assert.equal(v2.current, true);
    assert.equal(v1.current, false);
    assert.equal(v1.version, first.version);
    assert.deepEqual(v2.changes, { added: ['extra'], removed: ['welcome'], changed: ['save10'] });
    assert.equal(v2.coupons, 6);
    assert.equal(v2.manifest_id, 'console-tests');
    assert.ok(Date.parse(v2.published_at) > Date.parse(v1.published_at));

    // updated_at: when each coupon's JSON last changed.
    res = await consoleCall('GET', '/admin/coupons');
    const at = Object.fromEntries(res.json.coupons.map((c) => [c.id, c.updated_at]));
    assert.equal(at.save10, v2.published_at);
    assert.equal(at.extra, v2.published_at);
    assert.equal(at.gen, v1.published_at);

    res = await consoleCall('GET', `/admin/manifests/${encodeURIComponent(first.version)}`);
    assert.equal(res.status, 200);
    assert.equal(res.json.version, first.version);
    assert.equal(res.json.payload.coupons[0].reward.percent, '10');
    res = await consoleCall('GET', '/admin/manifests/console-tests@00000000000000000000000000000000');
    assert.equal(res.status, 404);
    assert.equal(res.json.error.code, 'MANIFEST_VERSION_NOT_FOUND');

    res = await consoleCall('POST', `/admin/manifests/${encodeURIComponent(first.version)}/restore`);
    assert.equal(res.status, 201);
    assert.equal(res.json.version, first.version);
    assert.equal((await call(server, 'GET', '/manifest')).headers.get('etag'), first.etag);
    res = await consoleCall('GET', '/admin/manifests');
    assert.equal(res.json.versions[0].version, first.version);
    assert.equal(res.json.versions[0].current, true);
    assert.deepEqual(res.json.versions[0].changes, { added: ['welcome'], removed: ['extra'], changed: ['save10'] });

    // A version that has expired cannot come back: edit a copy.
    const short = { ...payload(), id: 'short-lived', issued_at: rfc3339(Date.now() - 60e3), expires_at: rfc3339(Date.now() + 3000) };
    res = await consoleCall('POST', '/admin/manifest/sign', { body: short });
    assert.equal(res.status, 201);
    const gone = res.json.version;
    res = await consoleCall('POST', `/admin/manifests/${encodeURIComponent(first.version)}/restore`);
    assert.equal(res.status, 201);
    await sleep(3500);
    res = await consoleCall('POST', `/admin/manifests/${encodeURIComponent(gone)}/restore`);
    assert.equal(res.status, 409);
    assert.equal(res.json.error.code, 'MANIFEST_EXPIRED');
    res = await consoleCall('GET', `/admin/manifests/${encodeURIComponent(gone)}`);
    assert.equal(res.status, 200, 'an expired version can still be read, to edit a copy');
    assert.equal(res.json.payload.id, 'short-lived');
  });
});

describe('coupons', TEST_TIMEOUT, () => {
  test('the list: effective status, type, the engine\'s summary, codes and counters', async () => {
    const res = await consoleCall('GET', '/admin/coupons');
    assert.equal(res.status, 200);
    const { manifest, coupons: list } = res.json;
    assert.equal(manifest.id, 'console-tests');
    assert.equal(manifest.currency, 'USD');
    assert.equal(manifest.time_zone, 'Europe/Berlin');
    const by = Object.fromEntries(list.map((c) => [c.id, c]));
    assert.deepEqual(Object.keys(by), ['save10', 'points', 'later', 'welcome', 'gen', 'partner']);
    assert.equal(by.save10.status, 'active');
    assert.equal(by.save10.type, 'static');
    assert.deepEqual(by.save10.codes, { code: 'SAVE10' });
    assert.deepEqual(by.save10.reward, { type: 'percentage', summary: '10% off the order' });
    assert.equal(by.save10.limit_per_code, 3);
    assert.deepEqual(by.save10.limits, { per_user: 3 });
    assert.equal(by.save10.override, null);
    assert.equal(by.later.status, 'scheduled');
    assert.equal(by.later.manifest_status, 'active');
    assert.equal(by.welcome.type, 'event');
    assert.equal(by.points.type, 'automatic');
    assert.equal(by.points.reward.summary, '50 points');
    assert.deepEqual(by.gen.codes, { prefix: 'GEN', pool_available: 0 });
    assert.equal(by.gen.redemptions, 0);
    assert.equal(by.gen.discount_given, '0');
    assert.equal(by.gen.visibility, 'visible');
  });

  test('one coupon: its JSON, settings in words from the engine, counters and pool; 404 for none', async () => {
    let res = await consoleCall('GET', '/admin/coupons/save10');
    assert.equal(res.status, 200);
    assert.equal(res.json.coupon.codes.code, 'SAVE10');
    assert.equal(res.json.status, 'active');
    assert.equal(res.json.override, null);
    assert.equal(res.json.pool, null);
    assert.deepEqual(res.json.counters, { redemptions: 0, discount_given: '0', periods: {} });
    const words = Object.fromEntries(res.json.description.map((l) => [l.label, l.text]));
    assert.equal(words.name, 'Save 10');
    assert.equal(words.redeem, 'static code SAVE10');
    assert.equal(words.audience, 'everyone');
    assert.equal(words.limits, '3 per user');
    assert.equal(words.conditions, 'the cart subtotal is at least 20.00');
    assert.equal(words.reward, 'percentage on order (10% off the order)');
    res = await consoleCall('GET', '/admin/coupons/later');
    const later = Object.fromEntries(res.json.description.map((l) => [l.label, l.text]));
    assert.match(later.activation, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} \+0[12]:00$/, 'in the manifest\'s zone (Berlin)');
    res = await consoleCall('GET', '/admin/coupons/points');
    assert.match(res.json.description.find((l) => l.label === 'schedule').text, /\(Asia\/Kolkata\)$/);
    res = await consoleCall('GET', '/admin/coupons/gen');
    assert.deepEqual(res.json.pool, { available: 0, given: 0 });
    res = await consoleCall('GET', '/admin/coupons/nope');
    assert.equal(res.status, 404);
    assert.equal(res.json.error.code, 'COUPON_NOT_FOUND');
  });

  test('archive takes effect at the edge at once: ENDED at /evaluate, listed as archived', async () => {
    let res = await consoleCall('PUT', '/admin/coupons/partner/status', { body: { status: 'archived' } });
    assert.equal(res.status, 200);
    assert.equal(res.json.status, 'archived');
    res = await consoleCall('PUT', '/admin/coupons/save10/status', { body: { status: 'archived' } });
    assert.equal(res.status, 200);
    res = await shop(server, 'POST', '/evaluate', { body: { cart: cart('50.00'), codes: ['SAVE10'] } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.rejected, [{ code: 'SAVE10', coupon_id: 'save10', reason: { code: 'ENDED', message: 'this coupon has ended', status: 'archived' } }]);
    res = await consoleCall('GET', '/admin/coupons');
    const save10 = res.json.coupons.find((c) => c.id === 'save10');
    assert.equal(save10.status, 'archived');
    assert.equal(save10.override, 'archived');
    assert.equal(save10.manifest_status, 'active');
    res = await consoleCall('PUT', '/admin/coupons/save10/status', { body: { status: 'active' } });
    assert.equal(res.json.status, 'active');
    res = await shop(server, 'POST', '/evaluate', { body: { cart: cart('50.00'), user: { id: 'u-archive' }, codes: ['SAVE10'] } });
    assert.ok(res.json.applied.some((a) => a.coupon_id === 'save10'), JSON.stringify(res.json.rejected));
  });
});

describe('bulk codes', TEST_TIMEOUT, () => {
  test('generate: couponctl\'s format, imported (genuine without a MAC check), redeemable once', async () => {
    let res = await consoleCall('POST', '/admin/coupons/gen/codes/generate', { body: { count: 5 } });
    assert.equal(res.status, 201, res.text);
    assert.match(res.headers.get('content-type'), /^text\/csv/);
    const [head, ...codes] = res.text.trim().split('\n');
    assert.equal(head, 'code');
    assert.equal(codes.length, 5);
    assert.equal(new Set(codes).size, 5);
    for (const code of codes) {
      assert.equal(code.length, 16);
      // GEN | 8 random | 4 MAC | 1 check, rebuilt from docs/cli.md by the test's own code.
      assert.equal(generatedCode('GEN', code.slice(3, 11)), code);
    }
    res = await shop(server, 'POST', '/evaluate', { body: { cart: cart('50.00'), codes: [codes[0]] } });
    const applied = res.json.applied.find((a) => a.coupon_id === 'gen');
    assert.equal(applied?.verification, 'full', JSON.stringify(res.json.rejected));
    res = await redeem(server, 'gen-1', { order_id: 'g1', cart: cart('50.00'), codes: [codes[0]] });
    assert.equal(res.status, 201, res.text);
    res = await redeem(server, 'gen-2', { order_id: 'g2', cart: cart('50.00'), codes: [codes[0]] });
    assert.equal(res.status, 409, 'once only');
    // A code of the same shape that was never generated is not genuine.
    res = await shop(server, 'POST', '/evaluate', { body: { cart: cart('50.00'), codes: [generatedCode('GEN', '22222222')] } });
    assert.equal(res.json.rejected[0].reason.code, 'UNKNOWN_CODE');
  });

  test('generate refuses other coupons, bad counts and more than 500 per call', async () => {
    let res = await consoleCall('POST', '/admin/coupons/save10/codes/generate', { body: { count: 5 } });
    assert.equal(res.status, 422);
    assert.equal(res.json.error.code, 'NOT_BULK_COUPON');
    res = await consoleCall('POST', '/admin/coupons/gen/codes/generate', { body: { count: 0 } });
    assert.equal(res.status, 400);
    assert.equal(res.json.error.path, 'count');
    res = await consoleCall('POST', '/admin/coupons/gen/codes/generate', { body: { count: 501 } });
    assert.equal(res.status, 413);
    assert.equal(res.json.error.code, 'TOO_MANY_ROWS');
  });

  test('an upload chunk lists every refused row (not only 20) with its line', async () => {
    const rows = ['code'];
    const bad = [];
    for (let i = 0; i < 500; i++) {
      if (i % 10 === 3) {
        rows.push(`XX${String(i).padStart(6, '0')}`);
        bad.push(i + 2); // line 1 is the header
      } else rows.push(`PART${String(i).padStart(6, '0')}`);
    }
    const res = await consoleCall('POST', '/admin/coupons/partner/codes', { body: `${rows.join('\n')}\n`, headers: { 'content-type': 'text/csv' } });
    assert.equal(res.status, 422);
    assert.equal(res.json.error.code, 'INVALID_CODES');
    assert.deepEqual(res.json.error.refused.map((r) => r.line), bad);
    assert.equal(bad.length, 50);
  });

  test('uploads are listed once per file (its batch), with what was added, refused and pooled', async () => {
    const batch = 'file-1';
    const post = (rows) => consoleCall('POST', `/admin/coupons/partner/codes?batch=${batch}`, { body: `code\n${rows.join('\n')}\n`, headers: { 'content-type': 'text/csv' } });
    assert.equal((await post(['PART900001', 'XX'])).status, 422); // the chunk refused: nothing stored
    assert.equal((await post(['PART900001'])).status, 201); // sent again without its bad row
    assert.equal((await post(['PART900002', 'PART900003'])).status, 201);
    const { uploads } = (await consoleCall('GET', '/admin/coupons/partner/uploads')).json;
    const mine = uploads.find((u) => u.batch === batch);
    assert.deepEqual({ ...mine, at: undefined }, { batch, kind: 'upload', at: undefined, requests: 3, imported: 3, refused: 1, pooled: 0 });
    const gen = (await consoleCall('GET', '/admin/coupons/gen/uploads')).json.uploads;
    assert.ok(gen.some((u) => u.kind === 'generated' && u.imported >= 5), 'generations are listed too');
    assert.deepEqual((await consoleCall('GET', '/admin/coupons/partner')).json.uploads.find((u) => u.batch === batch).imported, 3);
    const badBatch = await consoleCall('POST', '/admin/coupons/partner/codes?batch=../x', { body: 'code\nPART900004\n', headers: { 'content-type': 'text/csv' } });
    assert.equal(badBatch.status, 400);
    assert.equal(badBatch.json.error.parameter, 'batch');
  });
});

describe('stats of every coupon', TEST_TIMEOUT, () => {
  test('the overview sums what GET /stats/{id} says of each coupon, cashback points included', async () => {
    let today;
    for (let i = 0; i < 3; i++) {
      const res = await redeem(server, `stats-${i}`, { order_id: `s${i}`, cart: cart('40.00'), user: { id: `u${i}` }, codes: ['SAVE10'] });
      assert.equal(res.status, 201, res.text);
      today = res.json.evaluation.periods.day; // the shop's day (Berlin): past 23:00 UTC, tomorrow in UTC
    }
    const from = new Date(Date.parse(today) - 2 * DAY).toISOString().slice(0, 10);
    const q = `from=${from}&to=${today}&granularity=day`;
    const res = await consoleCall('GET', `/admin/stats?${q}`);
    assert.equal(res.status, 200);
    const o = res.json;
    assert.equal(o.granularity, 'day');
    assert.equal(o.coupons.length, 6);
    const fields = ['redemptions', 'redeeming_users', 'rollbacks', 'discount_given', 'gross_merchandise_value', 'codes_distributed', 'cashback_points'];
    const sum = (a, b) => (typeof a === 'string' ? (Number(a) + Number(b)).toFixed(2) : a + b);
    const totals = Object.fromEntries(fields.map((f) => [f, f.includes('discount') || f.includes('merchandise') ? '0.00' : 0]));
    for (const c of o.coupons) {
      const one = await call(server, 'GET', `/stats/${c.coupon_id}?${q}`);
      assert.equal(one.status, 200);
      for (const f of fields) {
        const own = one.json.periods.reduce((s, p) => sum(s, p[f]), typeof totals[f] === 'string' ? '0.00' : 0);
        assert.equal(Number(c[f]), Number(own), `${c.coupon_id} ${f}`);
        totals[f] = sum(totals[f], own);
      }
    }
    for (const f of fields) assert.equal(Number(o.totals[f]), Number(totals[f]), `totals ${f}`);
    assert.equal(o.periods.length, 3);
    const day = o.periods.find((p) => p.period === today);
    assert.equal(Number(day.redemptions), Number(o.totals.redemptions));
    const points = o.coupons.find((c) => c.coupon_id === 'points');
    assert.ok(points.cashback_points >= 150, `3 orders of 50 points: ${points.cashback_points}`);
    const save10 = o.coupons.find((c) => c.coupon_id === 'save10');
    assert.equal(save10.redemptions, 3);
    assert.equal(save10.discount_given, '12.00');
    assert.equal(save10.name, 'Save 10');
  });
});

describe('the token stays out of answers', TEST_TIMEOUT, () => {
  test('no answer, header or URL of the console carried the admin token; sign-out clears the cookie', async () => {
    const res = await consoleCall('DELETE', '/console/session');
    assert.equal(res.status, 204);
    assert.match(res.headers.get('set-cookie'), /^console_session=; HttpOnly; SameSite=Strict; Path=\/; Max-Age=0$/);
    assert.ok(seen.length > 30);
    for (const text of seen) assert.ok(!text.includes(ADMIN_TOKEN));
  });
});

describe('a Worker without the signing key or the MAC key', TEST_TIMEOUT, () => {
  let bare;
  before(async () => {
    bare = await start({ CODE_MAC_KEY: '' });
  }, START_TIMEOUT);
  after(() => bare?.stop(), STOP_TIMEOUT);

  test('sign is 503 SIGNING_DISABLED (check still works); generate is 503 GENERATION_DISABLED', async () => {
    let res = await admin(bare, 'POST', '/admin/manifest/sign', { body: payload() });
    assert.equal(res.status, 503);
    assert.equal(res.json.error.code, 'SIGNING_DISABLED');
    res = await admin(bare, 'POST', '/admin/manifest/check', { body: payload() });
    assert.equal(res.status, 200);
    res = await admin(bare, 'PUT', '/admin/manifest', { body: (await call(server, 'GET', '/manifest')).text, headers: { 'content-type': 'application/jose' } });
    assert.equal(res.status, 201);
    res = await admin(bare, 'POST', '/admin/coupons/gen/codes/generate', { body: { count: 1 } });
    assert.equal(res.status, 503);
    assert.equal(res.json.error.code, 'GENERATION_DISABLED');
  });
});

// Last: it publishes a version with one more coupon, which the tests above do not expect.
describe('hidden codes from the console', TEST_TIMEOUT, () => {
  test('a hidden code given in clear is published as its hash only, and applies when typed', async () => {
    const staff = { id: 'staff', name: 'Staff', status: 'active', visibility: 'hidden', codes: { type: 'static', code: 'team-2026' },
      reward: { type: 'percentage', percent: '30', target: { type: 'order' } } };
    const check = await consoleCall('POST', '/admin/manifest/check', { body: payload([...coupons(), staff]) });
    assert.equal(check.status, 200, check.text);
    const res = await consoleCall('POST', '/admin/manifest/sign', { body: payload([...coupons(), staff]) });
    assert.equal(res.status, 201, res.text);
    const served = await call(server, 'GET', '/manifest');
    assert.ok(!served.text.includes('TEAM2026') && !served.text.toLowerCase().includes('team-2026'));
    const published = jwsPayload(served.text).coupons.find((c) => c.id === 'staff');
    assert.deepEqual(Object.keys(published.codes).sort(), ['code_hash', 'type']);
    const priced = await shop(server, 'POST', '/evaluate', { body: { cart: { currency: 'USD', lines: [{ id: 'l1', product_id: 'p', quantity: 1, unit_price: '50.00' }] }, codes: ['Team 2026'] } });
    assert.ok(priced.json.applied.some((a) => a.coupon_id === 'staff'), priced.text);
    // A code the engine would not read is the code field's error.
    const bad = await consoleCall('POST', '/admin/manifest/check', { body: payload([...coupons(), { ...staff, codes: { type: 'static', code: 'ÄÖÜ' } }]) });
    assert.equal(bad.status, 422);
    assert.equal(bad.json.error.path, `coupons[${coupons().length}].codes.code`);
  });
});
