// Bad input at the edge (issue 15, point 4): every case gets a fitting 4xx and a stable error code
// in `{ error: { code, message, ...details } }` JSON, never a 500, a plain-text answer or a trap.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { admin, call, cart, manifest, publish, redeem, shop, shopperHeaders, sign, start, START_TIMEOUT, STOP_TIMEOUT, TEST_TIMEOUT } from './helpers.mjs';
import { MAX_USER_ID_BYTES } from '../../worker/src/profiles.js';

const coupons = [
  { id: 'ten-off', name: '10 off', status: 'active', codes: { type: 'static', code: 'TEN' },
    limits: { per_user: 5, global: 100 },
    reward: { type: 'fixed_amount', amount: '10.00', target: { type: 'order' } } },
  { id: 'partner', name: 'Partner codes', status: 'active', codes: { type: 'bulk', prefix: 'PART', length: 10 },
    reward: { type: 'fixed_amount', amount: '5.00', target: { type: 'order' } } },
];

let server;
before(async () => {
  server = await start();
  await publish(server, manifest(coupons));
}, START_TIMEOUT);
after(() => server?.stop(), STOP_TIMEOUT);

/** The response is JSON `{ error: { code, message } }` with this status and code. */
function assertError(res, status, code, what) {
  assert.equal(res.status, status, `${what}: ${res.status} ${res.text.slice(0, 300)}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, `${what}: ${res.text.slice(0, 200)}`);
  assert.equal(res.json?.error?.code, code, `${what}: ${res.text.slice(0, 300)}`);
  assert.equal(typeof res.json.error.message, 'string');
  return res.json.error;
}

let keys = 0;
const key = () => `bad-input-${process.pid}-${++keys}`;

describe('user ids: 1 to 128 bytes of UTF-8 everywhere, checked before any key is built', TEST_TIMEOUT, () => {
  const cjk170 = '\u4e2d'.repeat(170); // 510 bytes: under the old 256-character limit
  const cjk43 = '\u4e2d'.repeat(43); // 129 bytes, 43 characters
  const cjk42 = '\u4e2d'.repeat(42); // 126 bytes: allowed
  const enc = encodeURIComponent;

  test('the figure the Worker exports is the documented one', () => {
    assert.equal(MAX_USER_ID_BYTES, 128);
    const docs = (f) => fs.readFileSync(path.join(import.meta.dirname, '../../docs', f), 'utf8');
    for (const f of ['worker.md', 'manifest.md']) assert.match(docs(f), /1 to 128 bytes of UTF-8/, f);
  });

  test('POST /evaluate and POST /redemptions: 400 INVALID_REQUEST at user.id', async () => {
    for (const id of [cjk170, cjk43, 'a'.repeat(129)]) {
      const body = { cart: cart(), user: { id }, codes: ['TEN'] };
      let err = assertError(await call(server, 'POST', '/evaluate', { body }), 400, 'INVALID_REQUEST', `evaluate ${id.length}`);
      assert.equal(err.path, 'user.id');
      err = assertError(await redeem(server, key(), { ...body, order_id: 'o-1' }), 400, 'INVALID_REQUEST', `redeem ${id.length}`);
      assert.equal(err.path, 'user.id');
    }
    const ok = await call(server, 'POST', '/evaluate', { body: { cart: cart(), user: { id: cjk42 }, codes: ['TEN'] } });
    assert.equal(ok.status, 200, ok.text);
    const redeemed = await redeem(server, key(), { cart: cart(), user: { id: cjk42 }, codes: ['TEN'], order_id: 'o-2' });
    assert.equal(redeemed.status, 201, redeemed.text);
  });

  test('GET /coupons?user= and GET /admin/coupons/{id}/counters?user=: 400 INVALID_QUERY for user', async () => {
    let err = assertError(await call(server, 'GET', `/coupons?user=${enc(cjk170)}`), 400, 'INVALID_QUERY', 'tray');
    assert.equal(err.parameter, 'user');
    assert.equal((await call(server, 'GET', '/coupons')).status, 200, 'without a user: the anonymous tray');
    assert.equal((await call(server, 'GET', `/coupons?user=${enc(cjk42)}`)).status, 200);
    err = assertError(await admin(server, 'GET', `/admin/coupons/ten-off/counters?user=${enc(cjk43)}`), 400, 'INVALID_QUERY', 'counters');
    assert.equal(err.parameter, 'user');
    const mine = await admin(server, 'GET', `/admin/coupons/ten-off/counters?user=${enc(cjk42)}`);
    assert.equal(mine.status, 200, mine.text);
    assert.equal(mine.json.user_redemptions, 1, 'the 126-byte user redeemed once above');
  });

  test('paths /users/{id} and /admin/users/{id}: 400 INVALID_REQUEST at user_id', async () => {
    for (const [method, p, body] of [
      ['GET', `/users/${enc(cjk170)}/context`],
      ['PUT', `/admin/users/${enc(cjk43)}`, { segments: ['x'] }],
      ['GET', `/admin/users/${enc(cjk170)}`],
      ['DELETE', `/admin/users/${enc(cjk170)}`],
    ]) {
      const err = assertError(await admin(server, method, p, body ? { body } : {}), 400, 'INVALID_REQUEST', `${method} ${p.slice(0, 20)}`);
      assert.equal(err.path, 'user_id');
    }
    const put = await admin(server, 'PUT', `/admin/users/${enc(cjk42)}`, { body: { segments: ['x'] } });
    assert.equal(put.status, 200, put.text);
  });

  test('NDJSON uploads and events: the same rule', async () => {
    const ndjson = { 'content-type': 'application/x-ndjson' };
    let err = assertError(await admin(server, 'POST', '/admin/users', { body: `${JSON.stringify({ user_id: cjk170 })}\n`, headers: ndjson }),
      400, 'INVALID_REQUEST', 'users upload');
    assert.equal(err.line, 1);
    err = assertError(await admin(server, 'POST', '/admin/assignments', {
      body: `${JSON.stringify({ coupon_id: 'ten-off', user_id: cjk43, assigned_at: '2026-01-01T00:00:00Z' })}\n`, headers: ndjson,
    }), 400, 'INVALID_REQUEST', 'assignments upload');
    assert.equal(err.line, 1);
    err = assertError(await admin(server, 'POST', '/events', { body: { id: 'e1', user_id: cjk170, name: 'signup' } }), 400, 'INVALID_REQUEST', 'event');
    assert.equal(err.path, 'user_id');
  });

  test('a lone surrogate (text with no UTF-8, a KV key KV refuses) is a bad id too, and an upload with one stores no row', async () => {
    const lone = '\ud800x';
    const body = { cart: cart(), user: { id: lone }, codes: ['TEN'] };
    for (const [what, res] of [
      ['shop evaluate', await shop(server, 'POST', '/evaluate', { body })],
      ['shop redemption', await redeem(server, key(), { ...body, order_id: 'o-lone' })],
    ]) assert.equal(assertError(res, 400, 'INVALID_REQUEST', what).path, 'user.id');
    let err = assertError(await admin(server, 'POST', '/events', { body: { id: 'e-lone', user_id: lone, name: 'signup' } }), 400, 'INVALID_REQUEST', 'event');
    assert.equal(err.path, 'user_id');
    // A shopper token whose sub has one: not a token for any user.
    assertError(await call(server, 'GET', '/coupons', { headers: await shopperHeaders(server, lone) }), 401, 'SHOPPER_TOKEN_INVALID', 'token sub');
    // Rows are all checked before any is stored: the good first row is not kept either.
    const rows = [{ coupon_id: 'ten-off', user_id: 'lone-neighbour', assigned_at: '2026-11-01T00:00:00Z' },
      { coupon_id: 'ten-off', user_id: lone, assigned_at: '2026-11-01T00:00:00Z' }];
    err = assertError(await admin(server, 'POST', '/admin/assignments', {
      body: `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`, headers: { 'content-type': 'application/x-ndjson' },
    }), 400, 'INVALID_REQUEST', 'assignments');
    assert.equal(err.line, 2);
    const ctx = await shop(server, 'GET', '/users/lone-neighbour/context');
    assert.equal(ctx.status, 200, ctx.text);
    assert.deepEqual(ctx.json.assignments ?? [], []);
  });
});

test('assignments: a time or a code the engine would refuse is a 400 naming the line, and nothing is stored', TEST_TIMEOUT, async () => {
  const ndjson = { 'content-type': 'application/x-ndjson' };
  const good = { coupon_id: 'ten-off', user_id: 'assign-victim', assigned_at: '2026-11-01T00:00:00Z' };
  for (const [bad, code, field] of [
    [{ ...good, assigned_at: 'garbage' }, 'INVALID_TIME', 'assigned_at'],
    [{ ...good, assigned_at: '2026-11-01' }, 'INVALID_TIME', 'assigned_at'],
    [{ ...good, code: '\u0000bad code' }, 'CODE_INVALID', 'code'],
  ]) {
    const err = assertError(await admin(server, 'POST', '/admin/assignments', {
      body: `${JSON.stringify(good)}\n\n${JSON.stringify(bad)}\n`, headers: ndjson,
    }), 400, code, field);
    assert.equal(err.line, 3, 'the blank line counts');
    assert.equal(err.path, field);
    assert.match(err.message, new RegExp(`^line 3 is not a valid assignment: ${field}: `));
  }
  // Nothing was stored: the user still prices (an unreadable stored row made every call 400).
  const priced = await shop(server, 'POST', '/evaluate', { body: { cart: cart(), user: { id: 'assign-victim' }, codes: ['TEN'] } });
  assert.equal(priced.status, 200, priced.text);
  const ctx = await shop(server, 'GET', '/users/assign-victim/context');
  assert.deepEqual(ctx.json.assignments ?? [], []);
  // A good upload, with a time in another offset, is stored as sent.
  const late = { ...good, assigned_at: '2026-11-01T22:00:00-05:00' };
  const ok = await admin(server, 'POST', '/admin/assignments', { body: `${JSON.stringify(late)}\n`, headers: ndjson });
  assert.equal(ok.status, 201, ok.text);
  assert.deepEqual((await shop(server, 'GET', '/users/assign-victim/context')).json.assignments,
    [{ coupon_id: 'ten-off', assigned_at: '2026-11-01T22:00:00-05:00' }]);
});

test('POST /redemptions reads allocations as /evaluate does: a value that is not true or false is refused', TEST_TIMEOUT, async () => {
  const body = { cart: cart(), user: { id: 'alloc-user' }, codes: ['TEN'], allocations: 'yes' };
  const evaluated = await shop(server, 'POST', '/evaluate', { body });
  assert.equal(evaluated.status, 400, evaluated.text);
  const redeemed = await redeem(server, key(), { ...body, order_id: 'o-alloc' });
  assertError(redeemed, 400, evaluated.json.error.code, 'redemption');
  assert.equal(redeemed.json.error.path, evaluated.json.error.path);
});

test('a CSV upload that is not UTF-8 is 400 INVALID_CSV', TEST_TIMEOUT, async () => {
  const latin1 = Buffer.from('code\nPARTCAF\xc9XY\n', 'latin1');
  const res = await admin(server, 'POST', '/admin/coupons/partner/codes', { body: latin1, headers: { 'content-type': 'text/csv' } });
  assert.match(assertError(res, 400, 'INVALID_CSV', 'latin-1 csv').message, /not UTF-8/);
});

test('a 10,000-level nested array answers /redemptions as it answers /evaluate', TEST_TIMEOUT, async () => {
  const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
  for (const at of ['cart', 'user', 'codes']) {
    const body = `{"cart":${at === 'cart' ? deep : JSON.stringify(cart())},${at === 'user' ? `"user":${deep},` : ''}"codes":${at === 'codes' ? deep : '[]'}`;
    // As the shop's backend, whose `user` is read (an anonymous caller's is ignored whole).
    const evaluated = await shop(server, 'POST', '/evaluate', { body: `${body}}` });
    const e = assertError(evaluated, 400, 'INVALID_REQUEST', `evaluate, deep ${at}`);
    const redeemed = await redeem(server, key(), `${body},"order_id":"deep"}`);
    const r = assertError(redeemed, 400, e.code, `redeem, deep ${at}`);
    // The message may differ: JSON.stringify in the engine's glue runs out of stack in one isolate
    // ("not representable as JSON") and reaches the engine's nesting limit in the other.
    assert.equal(r.path, e.path, `the same path for a deep ${at}`);
  }
});

/** A POST whose body goes out in chunks (Transfer-Encoding: chunked, no Content-Length). */
function chunked(pathname, { chunks, size }, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${server.url}${pathname}`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked', ...headers },
    }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let json = null;
        try {
          json = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode, headers: new Headers(Object.entries(res.headers).map(([k, v]) => [k, String(v)])), text, json });
      });
      res.on('error', reject);
    });
    req.setTimeout(60_000, () => req.destroy(new Error(`${pathname}: no answer`)));
    // A connection cut under the request (EPIPE, ECONNRESET) is an answer too, and a wrong one.
    req.on('error', (err) => resolve({ status: 0, headers: new Headers(), text: `${err.code}: ${err.message}`, json: null }));
    const chunk = Buffer.alloc(size, 0x20);
    let i = 0;
    const write = () => {
      while (i < chunks) {
        i++;
        if (!req.write(chunk)) return req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

test('an oversized body sent chunked is 413 BODY_TOO_LARGE as JSON', TEST_TIMEOUT, async () => {
  // 10 MiB of spaces (the limit is 256 KiB): the Worker answers while the client is still
  // writing. Before the fix most such requests got wrangler's plain-text 503 or a reset; a few
  // tries of each catch the race.
  const big = { chunks: 640, size: 16 * 1024 };
  for (let i = 0; i < 4; i++) {
    const err = assertError(await chunked('/evaluate', big), 413, 'BODY_TOO_LARGE', `evaluate, chunked, try ${i}`);
    assert.equal(err.limit, 256 * 1024);
    assertError(await chunked('/redemptions', big, { 'idempotency-key': key() }), 413, 'BODY_TOO_LARGE', `redeem, chunked, try ${i}`);
  }
  // A chunked body under the limit is read whole.
  const small = await new Promise((resolve, reject) => {
    const req = http.request(`${server.url}/evaluate`, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(parts).toString('utf8') }));
    });
    req.on('error', reject);
    const body = JSON.stringify({ cart: cart(), codes: ['TEN'] });
    req.write(body.slice(0, 10));
    req.end(body.slice(10));
  });
  assert.equal(small.status, 200, small.text);
  // The Worker still answers afterwards.
  assert.equal((await call(server, 'GET', '/jwks')).status, 200);
});

test('hold -> confirm -> revert -> confirm is 409 REDEMPTION_REVERTED; a replay before the revert is byte-identical', TEST_TIMEOUT, async () => {
  const made = await redeem(server, key(), { cart: cart(), user: { id: 'holder' }, codes: ['TEN'], order_id: 'o-hold', hold: 'PT10M' });
  assert.equal(made.status, 201, made.text);
  const id = made.json.redemption.id;
  const admin_ = (p) => admin(server, 'POST', `/redemptions/${id}/${p}`);
  const first = await admin_('confirm');
  assert.equal(first.status, 200, first.text);
  const again = await admin_('confirm');
  assert.equal(again.status, 200);
  assert.equal(again.text, first.text, 'a replayed confirm is byte-identical');
  assert.equal((await admin_('revert')).status, 200);
  assertError(await admin_('confirm'), 409, 'REDEMPTION_REVERTED', 'confirm after revert');
  assert.equal((await admin(server, 'GET', `/redemptions/${id}`)).json.redemption.status, 'reverted');
});

test('GET /redemptions/{id} lists the coupons as the 201 does: {coupon_id, code, discount}', TEST_TIMEOUT, async () => {
  const made = await redeem(server, key(), { cart: cart(), user: { id: 'viewer' }, codes: ['TEN'], order_id: 'o-view' });
  assert.equal(made.status, 201, made.text);
  const got = await admin(server, 'GET', `/redemptions/${made.json.redemption.id}`);
  assert.equal(got.status, 200, got.text);
  assert.deepEqual(got.json.redemption.coupons, made.json.redemption.coupons);
  assert.deepEqual(got.json.redemption.coupons, [{ coupon_id: 'ten-off', code: 'TEN', discount: '10.00' }]);
});

/** Files of the CouponCounter Durable Objects in the server's local state. */
function counterFiles() {
  const out = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.includes('CouponCounter')) out.push(p);
    }
  };
  walk(server.dir);
  return out.sort();
}

test('admin routes of a coupon not in the manifest: 404 COUPON_NOT_FOUND, and no Durable Object made', TEST_TIMEOUT, async () => {
  const before_ = counterFiles();
  assert.ok(before_.length > 0, 'ten-off was redeemed above: its Durable Object has files the check sees');
  assertError(await admin(server, 'GET', '/admin/coupons/no-such/counters'), 404, 'COUPON_NOT_FOUND', 'counters');
  assertError(await admin(server, 'GET', '/admin/coupons/no-such/counters?user=u1'), 404, 'COUPON_NOT_FOUND', 'counters of a user');
  assertError(await admin(server, 'GET', '/admin/coupons/no-such/ledger'), 404, 'COUPON_NOT_FOUND', 'ledger');
  assertError(await admin(server, 'GET', '/admin/coupons/no-such/pool'), 404, 'COUPON_NOT_FOUND', 'pool');
  assertError(await admin(server, 'PUT', '/admin/coupons/no-such/status', { body: { status: 'paused' } }), 404, 'COUPON_NOT_FOUND', 'status');
  assertError(await admin(server, 'POST', '/admin/coupons/no-such/codes', { body: 'X\n', headers: { 'content-type': 'text/csv' } }),
    404, 'COUPON_NOT_FOUND', 'codes');
  assert.deepEqual(counterFiles(), before_, 'no CouponCounter storage was created');
  assert.equal((await admin(server, 'GET', '/admin/coupons/ten-off/counters')).status, 200);
});

test('a JWS header without kid says so (422 MANIFEST_KEY_UNKNOWN)', TEST_TIMEOUT, async () => {
  const [, payload, signature] = sign(manifest(coupons)).split('.');
  const header = Buffer.from(JSON.stringify({ alg: 'EdDSA' })).toString('base64url');
  const res = await admin(server, 'PUT', '/admin/manifest', { body: `${header}.${payload}.${signature}`, headers: { 'content-type': 'application/jose' } });
  const err = assertError(res, 422, 'MANIFEST_KEY_UNKNOWN', 'no kid');
  assert.match(err.message, /has no `kid`/);
  assert.doesNotMatch(err.message, /kid ``/);
});

test('GET /stats with a date that does not exist says so (400 INVALID_QUERY, parameter from)', TEST_TIMEOUT, async () => {
  let err = assertError(await admin(server, 'GET', '/stats/ten-off?from=2026-02-30&to=2026-03-31'), 400, 'INVALID_QUERY', 'from');
  assert.equal(err.parameter, 'from');
  assert.match(err.message, /does not exist/);
  err = assertError(await admin(server, 'GET', '/stats/ten-off?from=2026-02-01&to=2026-02-29'), 400, 'INVALID_QUERY', 'to');
  assert.equal(err.parameter, 'to');
  assert.equal((await admin(server, 'GET', '/stats/ten-off?from=2028-02-01&to=2028-02-29')).status, 200, 'a leap day exists');
});

test('GET /stats with a bad `to` and no `from` names `to` (the default from is counted back from it)', TEST_TIMEOUT, async () => {
  for (const q of ['to=x', 'to=2026-12-04T00:00:00Z', 'to=', 'to=0000-12-31']) {
    for (const [who, p] of [['public', `/stats/ten-off?${q}`], ['admin', `/admin/stats?${q}`]]) {
      const res = who === 'admin' ? await admin(server, 'GET', p) : await call(server, 'GET', p);
      assert.equal(assertError(res, 400, 'INVALID_QUERY', `${who} ${q}`).parameter, 'to');
    }
  }
  // Weeks of the first years are labelled by their own year (Date.UTC reads 0 to 99 as 1900 to 1999).
  const early = await call(server, 'GET', '/stats/ten-off?from=0001-01-01&to=0001-01-10&granularity=week');
  assert.equal(early.status, 200, early.text);
  assert.deepEqual(early.json.periods.map((r) => r.period), ['0001-W01', '0001-W02']);
});

test('an order edit (previous) is the shop\'s to price, and never redeems: it would give uses back on a caller\'s word', TEST_TIMEOUT, async () => {
  // Without this, `previous: { applied: [{ coupon_id, discount: "9999" }] }` gave a use and the
  // claimed discount back before every limit was checked: per_user, global and budget lifted.
  const previous = { applied: [{ coupon_id: 'ten-off', code: 'TEN', discount: '9999.00' }] };
  const body = { cart: cart(), user: { id: 'editor' }, codes: ['TEN'], previous };
  for (const headers of [{ 'idempotency-key': key() }, await shopperHeaders(server, 'editor', { 'idempotency-key': key() })]) {
    const refused = await call(server, 'POST', '/redemptions', { body: { ...body, order_id: 'o-edit', hold: 'PT5M' }, headers });
    assert.equal(assertError(refused, 400, 'INVALID_REQUEST', 'a browser reserving with previous').path, 'previous');
  }
  const fromShop = await redeem(server, key(), { ...body, order_id: 'o-edit' });
  assert.equal(assertError(fromShop, 400, 'INVALID_REQUEST', 'the shop redeeming with previous').path, 'previous');
  assertError(await call(server, 'POST', '/evaluate', { body }), 401, 'SERVER_CREDENTIAL_REQUIRED', 'an anonymous edit');
  assertError(await call(server, 'POST', '/evaluate', { body, headers: await shopperHeaders(server, 'editor') }), 403, 'SERVER_CREDENTIAL_REQUIRED', 'a shopper\'s edit');
  const priced = await shop(server, 'POST', '/evaluate', { body });
  assert.equal(priced.status, 200, priced.text);
  assert.deepEqual(priced.json.edit.kept.map((k) => [k.coupon_id, k.previous_discount, k.discount]), [['ten-off', '9999.00', '10.00']]);
});
