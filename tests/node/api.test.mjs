// The JS API of pkg/ (CONTRACT §2): signature checks, the error shape, defaults, and that bad input
// of any JS type throws an Error with a code, never traps the instance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadPackage, signJws, testJwks, generateKeyPair, base64url, PKG_DIR, wasmMemoryBytes } from './helpers.mjs';

const PKG = await loadPackage();
const { CouponEngine } = PKG;

const NOW = '2026-11-23T12:00:00Z';
const manifest = {
  version: 1,
  id: 'api-test',
  issued_at: '2026-11-01T00:00:00Z',
  expires_at: '2026-12-31T00:00:00Z',
  currency: 'USD',
  coupons: [
    {
      id: 'SAVE10',
      name: '10% off',
      status: 'active',
      codes: { type: 'static', code: 'SAVE10' },
      reward: { type: 'percentage', percent: '10', target: { type: 'order' } },
    },
  ],
};
const cart = { currency: 'USD', lines: [{ id: 'a', product_id: 'tee', quantity: 2, unit_price: '10.00' }] };
const load = (jws = signJws(manifest), keys = testJwks(), opts = { now: NOW }) =>
  CouponEngine.fromSignedManifest(jws, keys, opts);

/** Runs `fn`, which must throw an Error with this code (and a message). */
function throwsCode(fn, code) {
  let caught;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof Error, `expected an Error with code ${code}, got ${caught}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(caught.message.length > 0);
  return caught;
}

test('a valid manifest loads and evaluates', () => {
  const engine = load();
  assert.equal(engine.manifestId, 'api-test');
  const r = engine.evaluate({ cart, codes: ['save 10'], now: NOW });
  assert.equal(r.totals.total, '18.00');
  assert.equal(r.applied[0].code, 'SAVE10');
});

test('signature failures each have their code', () => {
  const jws = signJws(manifest);
  const [h, p, s] = jws.split('.');
  // A changed byte in the payload, the header or the signature.
  const flip = (part) => (part[5] === 'A' ? `${part.slice(0, 5)}B${part.slice(6)}` : `${part.slice(0, 5)}A${part.slice(6)}`);
  throwsCode(() => load(`${h}.${flip(p)}.${s}`), 'MANIFEST_SIGNATURE_INVALID');
  throwsCode(() => load(`${h}.${p}.${flip(s)}`), 'MANIFEST_SIGNATURE_INVALID');
  // Another key under the same kid; an unknown kid.
  const other = generateKeyPair('test-key-1');
  throwsCode(() => load(signJws(manifest, other.privateJwk)), 'MANIFEST_SIGNATURE_INVALID');
  throwsCode(() => load(signJws(manifest, other.privateJwk, 'nobody')), 'MANIFEST_KEY_UNKNOWN');
  // alg none, and a header that is not JSON.
  const none = `${base64url(JSON.stringify({ alg: 'none', kid: 'test-key-1' }))}.${p}.`;
  throwsCode(() => load(none), 'MANIFEST_ALGORITHM_UNSUPPORTED');
  throwsCode(() => load(`${base64url('{not json')}.${p}.${s}`), 'MANIFEST_MALFORMED');
  throwsCode(() => load('only.two'), 'MANIFEST_MALFORMED');
  // Times: expired, not yet valid.
  throwsCode(() => load(undefined, undefined, { now: '2027-01-01T00:00:00Z' }), 'MANIFEST_EXPIRED');
  throwsCode(() => load(undefined, undefined, { now: '2026-10-01T00:00:00Z' }), 'MANIFEST_NOT_YET_VALID');
});

test('key sets are checked', () => {
  const jws = signJws(manifest);
  throwsCode(() => load(jws, { nope: [] }), 'KEYSET_INVALID');
  throwsCode(() => load(jws, null), 'KEYSET_INVALID');
  const priv = { keys: [{ ...JSON.parse(fs.readFileSync('tests/keys/test-signing-key.jwk.json', 'utf8')) }] };
  throwsCode(() => load(jws, priv), 'KEYSET_INVALID'); // a private key must never be deployed
});

test('errors carry the field path', () => {
  const engine = load();
  const bad = { ...cart, lines: [{ ...cart.lines[0], unit_price: 12.5 }] };
  const e = throwsCode(() => engine.evaluate({ cart: bad, now: NOW }), 'INVALID_AMOUNT');
  assert.equal(e.path, 'cart.lines[0].unit_price');
  const u = throwsCode(() => engine.evaluate({ cart, now: NOW, colour: 'red' }), 'INVALID_REQUEST');
  assert.match(u.message, /colour/);
  // An option refused once read is named at its field, in the options' own words.
  for (const [value, message] of [[-1, /^limits\.max_cart_lines: -1 is not a whole number/], [2.5, /2\.5 is not a whole number/], ['9', /found a string/]]) {
    const l = throwsCode(() => load(undefined, undefined, { now: NOW, limits: { max_coupons: 9, max_cart_lines: value } }), 'INVALID_REQUEST');
    assert.equal(l.path, 'limits.max_cart_lines');
    assert.match(l.message, message);
  }
  // A key given twice in a free-form object is named at its second place.
  const twice = '{"cart":{"currency":"USD","lines":[{"id":"a","product_id":"tee","quantity":1,"unit_price":"1.00","attributes":{"k":"1","k":"2"}}]}}';
  assert.equal(throwsCode(() => engine.evaluateJson(twice), 'INVALID_REQUEST').path, 'cart.lines[0].attributes.k');
});

test('now defaults to the JS clock when left out', () => {
  // The test manifest is valid until 2026-12-31; past that, this documents the default by failing.
  const engine = load(signJws({ ...manifest, expires_at: '2099-01-01T00:00:00Z' }), testJwks(), undefined);
  const r = engine.evaluate({ cart });
  assert.ok(Math.abs(Date.parse(r.now) - Date.now()) < 60_000, r.now);
  assert.ok(Array.isArray(engine.tray(undefined)));
  assert.equal(engine.checkCode('SAVE10', {}).valid, true);
});

test('hostile JS values throw coded errors and never trap', () => {
  const engine = load();
  const cyclic = {};
  cyclic.self = cyclic;
  for (const req of [undefined, null, 42, 'cart', [], { cart: null }, cyclic, { cart, codes: 'SAVE10' }, { cart: { ...cart, lines: 'x' } }]) {
    assert.throws(() => engine.evaluate(req), (e) => typeof e.code === 'string');
  }
  throwsCode(() => engine.checkCode(42, {}), 'CODE_INVALID');
  throwsCode(() => engine.checkCode('SАVE10', {}), 'CODE_INVALID'); // Cyrillic A
  throwsCode(() => CouponEngine.fromSignedManifest(42, testJwks()), 'MANIFEST_MALFORMED');
  // The instance still works after every failure above.
  assert.equal(engine.evaluate({ cart, codes: ['SAVE10'], now: NOW }).totals.total, '18.00');
});

test('a value JSON.stringify would write as another is refused at its path, not read as that other', () => {
  const engine = load();
  const base = { cart, codes: ['SAVE10'], now: NOW };
  const expected = JSON.stringify(engine.evaluate(base));
  const at = (req, path, pattern) => {
    const e = throwsCode(() => engine.evaluate(req), 'INVALID_REQUEST');
    assert.equal(e.path, path, e.message);
    assert.match(e.message, pattern);
  };
  // A used-up count sent as Infinity was read as no count (null): the limit was lifted.
  for (const n of [Infinity, -Infinity, NaN]) {
    at({ ...base, usage: { coupons: { SAVE10: { redemptions: n } } } }, 'usage.coupons.SAVE10.redemptions', /not a number JSON can carry/);
  }
  at({ ...base, cart: { ...cart, lines: [{ ...cart.lines[0], quantity: NaN }] } }, 'cart.lines[0].quantity', /NaN/);
  // A Map or a Set was written as {} (as if empty).
  at({ ...base, usage: { coupons: new Map([['SAVE10', { redemptions: 5 }]]) } }, 'usage.coupons', /Map .*plain object/);
  at({ ...base, user: { id: 'u', segments: new Set(['vip']) } }, 'user.segments', /Set .*plain array/);
  // undefined or a function in an array was written as null.
  at({ ...base, codes: ['SAVE10', undefined] }, 'codes[1]', /undefined/);
  // What JSON cannot write at all says what JSON.stringify said.
  assert.match(throwsCode(() => engine.evaluate({ ...base, big: 1n }), 'INVALID_REQUEST').message, /BigInt/);
  // Values are looked at as JSON.stringify reads them: toJSON first, a Number object as its number.
  at({ ...base, usage: { coupons: { SAVE10: { redemptions: { toJSON: () => NaN } } } } }, 'usage.coupons.SAVE10.redemptions', /NaN/);
  at({ ...base, cart: { ...cart, lines: [{ ...cart.lines[0], quantity: new Number(Infinity) }] } }, 'cart.lines[0].quantity', /Infinity/);
  at({ ...base, codes: [['SAVE10', [1, , 3]]] }, 'codes[0][1][1]', /undefined/); // a hole in an array is written as null
  // A genuine null and {} still cross (checked, then found fine), and so do a Date and a String object.
  assert.equal(engine.evaluate({ ...base, user: { id: 'u', properties: { tier: null, prefs: {}, since: new Date(0), name: new String('Ann') } } }).totals.total, '18.00');
  assert.equal(JSON.stringify(engine.evaluate(base)), expected);
});

test('string arguments are strings: anything else, or text with a lone surrogate, is refused, never read as something else', () => {
  const engine = load();
  const text = JSON.stringify({ cart, codes: ['SAVE10'], now: NOW });
  const expected = JSON.stringify(engine.evaluateJson(text));
  // wasm-bindgen's own reading of a string took any object with a length (and trapped on a huge one).
  for (const v of [42, null, undefined, ['x'], { length: 2 ** 32 - 1, charCodeAt: () => 65 }, { length: 1e8, charCodeAt() { throw new Error('no'); } }]) {
    assert.match(throwsCode(() => engine.evaluateJson(v), 'INVALID_REQUEST').message, /must be a string/);
  }
  // A lone surrogate has no UTF-8: it came in as U+FFFD, text the caller never sent.
  const lone = text.replace('"a"', '"a\ud800"');
  assert.match(throwsCode(() => engine.evaluateJson(lone), 'INVALID_REQUEST').message, /lone surrogate/);
  assert.equal(throwsCode(() => engine.checkCode('SAVE\ud800', {}), 'CODE_INVALID').path, 'code');
  assert.equal(throwsCode(() => engine.describe(() => 1), 'INVALID_REQUEST').path, 'coupon_id');
  assert.equal(engine.describe('SAVE10').length, 1);
  assert.equal(engine.describe(undefined).length, 1);
  const pkg = PKG;
  assert.equal(throwsCode(() => pkg.hiddenCodeHash(['m'], 'SAVE10'), 'INVALID_REQUEST').path, 'manifest_id');
  assert.equal(throwsCode(() => pkg.hiddenCodeHash('m\ud800', 'SAVE10'), 'INVALID_REQUEST').path, 'manifest_id');
  assert.equal(throwsCode(() => pkg.checkCharacter(5), 'CODE_INVALID').path, 'body');
  assert.equal(JSON.stringify(engine.evaluateJson(text)), expected);
});

test('text beyond ASCII crosses whole: a request is encoded straight into Wasm memory, at one byte per unit first', () => {
  const engine = load();
  // Two-, three- and four-byte UTF-8, first and last in the text, so the one-byte-per-unit buffer
  // overflows and the three-byte one is used.
  for (const id of ['é', 'ça-€', '👟'.repeat(40), 'a'.repeat(100) + '€']) {
    const req = { cart: { ...cart, lines: [{ ...cart.lines[0], id }] }, codes: ['SAVE10'], now: NOW };
    const viaObject = engine.evaluate(req);
    assert.equal(viaObject.lines[0].id, id);
    assert.deepEqual(engine.evaluateJson(JSON.stringify(req)), viaObject);
    assert.equal(viaObject.totals.total, '18.00');
  }
  // A signed manifest is ASCII: another character is refused, in the header by its base64url,
  // in the payload by the signature (checked before the payload is decoded).
  const jws = signJws(manifest);
  const put = (at, c) => jws.slice(0, at) + c + jws.slice(at + 1);
  for (const c of ['é', '€', '👟']) {
    throwsCode(() => load(put(5, c)), 'MANIFEST_MALFORMED');
    throwsCode(() => load(put(jws.indexOf('.') + 5, c)), 'MANIFEST_SIGNATURE_INVALID');
  }
  assert.equal(load(jws).manifestId, 'api-test');
  // One over the byte limit is refused by its length, before it is copied into Wasm memory.
  const memory = wasmMemoryBytes();
  const huge = 'é'.repeat(32 * 1024 * 1024);
  const e = throwsCode(() => load(huge), 'LIMIT_EXCEEDED');
  assert.deepEqual([e.limit, e.actual], [4 * 1024 * 1024, huge.length]);
  assert.equal(wasmMemoryBytes(), memory);
});

test('a request of plain data is read from its objects exactly as from its JSON text, and anything else is read from the text', () => {
  const engine = load();
  const line = cart.lines[0];
  const odd = { n: [1.5, -3, -0, 1e21, 2 ** 28 - 1, 2 ** 28, 2 ** 53 + 2, 1e-7, 0.1 + 0.2, -1e-300], t: [true, false, null, '', 'é', '日本', '👟'], o: { a: { b: [[], {}] } } };
  const nullProto = Object.assign(Object.create(null), line);
  const withGetter = { ...line, get product_id() { return 'tee'; } };
  const deep = JSON.parse('['.repeat(150) + ']'.repeat(150));
  const requests = [
    { cart, codes: ['SAVE10'], now: NOW },
    { cart: { ...cart, lines: [{ ...line, attributes: odd }], attributes: { größe: 'M', '': 1, ...JSON.parse('{"__proto__":{"x":1}}') } }, codes: ['SAVE10'], now: NOW },
    { cart: { ...cart, lines: [nullProto, { ...withGetter, id: 'b' }] }, user: { id: 'u', properties: odd, segments: ['vip'] }, codes: ['SAVE10', 'NOPE'], now: NOW },
    { cart: { ...cart, lines: [{ ...line, id: 'x👟', product_id: 'é' }] }, now: NOW, allocations: true, automatic: false },
    // Refused by the core: each its own code and path, the same either way.
    { cart: { ...cart, lines: [{ ...line, quantity: 2.5 }] }, now: NOW },
    { cart: { ...cart, lines: [{ ...line, quantity: 1e21 }] }, now: NOW },
    { cart: { ...cart, lines: [{ ...line, unit_price: 10 }] }, now: NOW },
    { cart: { ...cart, currency: 'EUR' }, now: NOW },
    // Refused on reading, which the JSON text says where and why.
    { cart: { ...cart, lines: [{ ...line, colour: 'red' }] }, now: NOW },
    { cart: { ...cart, lines: 'x' }, now: NOW },
    { cart, codes: [1], now: NOW },
    { cart, codes: ['x\ud83d', '\udc5fy'], now: NOW }, // halves of one pair in two strings
    { cart, codes: ['\ud800'], now: NOW },
    { cart: { ...cart, attributes: { deep } }, now: NOW },
  ];
  const outcome = (f) => {
    try {
      return { value: f() };
    } catch (e) {
      return { code: e.code, path: e.path, message: e.message };
    }
  };
  for (const req of requests) {
    const viaObject = outcome(() => engine.evaluate(req));
    assert.deepEqual(viaObject, outcome(() => engine.evaluateJson(JSON.stringify(req))), JSON.stringify(req).slice(0, 200));
  }
  // An enumerable key on Object.prototype: a plain object's `for ... in` would see it, JSON.stringify
  // does not; such requests go the JSON way.
  Object.prototype.sneaky = 'x'; // eslint-disable-line no-extend-native
  try {
    assert.equal(engine.evaluate({ cart, codes: ['SAVE10'], now: NOW }).totals.total, '18.00');
  } finally {
    delete Object.prototype.sneaky;
  }
});

test('errors carry their documented details', () => {
  const engine = load();
  const e = throwsCode(() => engine.evaluate({ cart: { ...cart, currency: 'EUR' }, now: NOW }), 'CURRENCY_MISMATCH');
  assert.deepEqual([e.expected, e.actual], ['USD', 'EUR']);
  const many = { ...cart, lines: Array.from({ length: 3 }, (_, i) => ({ ...cart.lines[0], id: `l${i}` })) };
  const small = load(undefined, undefined, { now: NOW, limits: { max_cart_lines: 2 } });
  const l = throwsCode(() => small.evaluate({ cart: many, now: NOW }), 'LIMIT_EXCEEDED');
  assert.equal(typeof l.what, 'string');
  assert.deepEqual([l.limit, l.actual], [2, 3]);
  // An order edit's line listed twice: the later one is named (tests/vectors/421-*).
  const twice = { applied: [], lines: [{ id: 'a', discount: '1.00' }, { id: 'a', discount: '2.00' }] };
  assert.equal(throwsCode(() => engine.evaluate({ cart, now: NOW, previous: twice }), 'INVALID_REQUEST').path, 'previous.lines[1].id');
});

test('a cart of many lines is priced with exact sums', () => {
  const engine = load();
  const lines = Array.from({ length: 500 }, (_, i) => ({ id: `l${i}`, product_id: 'p', quantity: 1, unit_price: '0.03' }));
  const compact = engine.evaluate({ cart: { currency: 'USD', lines }, codes: ['SAVE10'], now: NOW });
  assert.equal(compact.applied[0].allocations, undefined); // compact by default
  assert.equal(compact.applied[0].lines, 'all');
  // A line is its id and amounts: the caller has the rest of it (issue 14's compact result).
  assert.deepEqual(Object.keys(compact.lines[0]), ['id', 'original', 'discount', 'final']);
  const r = engine.evaluate({ cart: { currency: 'USD', lines }, codes: ['SAVE10'], now: NOW, allocations: true });
  assert.equal(r.totals.subtotal, '15.00');
  assert.equal(r.totals.discount, '1.50');
  const cents = r.applied[0].allocations.reduce((n, a) => n + Math.round(Number(a.amount) * 100), 0);
  assert.equal(cents, 150);
  throwsCode(
    () => engine.evaluate({ cart: { currency: 'USD', lines: [...lines, ...lines.map((l) => ({ ...l, id: `${l.id}x` })), ...lines.map((l) => ({ ...l, id: `${l.id}y` }))] }, now: NOW }),
    'LIMIT_EXCEEDED',
  );
});

test('the package ships TypeScript types for the API', () => {
  const dts = fs.readFileSync(path.join(PKG_DIR, 'edge_coupons.d.ts'), 'utf8');
  for (const name of ['class CouponEngine', 'fromSignedManifest', 'interface Evaluation', 'interface EvaluateRequest', 'interface CodeCheck', 'interface TrayEntry']) {
    assert.ok(dts.includes(name), name);
  }
  assert.match(dts, /evaluate\(req: EvaluateRequest\): Evaluation/);
});

test('describe: each coupon in words, as couponctl inspect prints it; checkCharacter: the core\'s', async () => {
  const engine = load();
  const all = engine.describe();
  assert.equal(all.length, 1);
  const [d] = all;
  assert.equal(d.coupon_id, 'SAVE10');
  assert.equal(d.status, 'active');
  assert.equal(d.hidden, false);
  assert.equal(d.summary, '10% off the order');
  assert.deepEqual(d.lines, [
    { label: 'name', text: '10% off' },
    { label: 'redeem', text: 'static code SAVE10' },
    { label: 'audience', text: 'everyone' },
    { label: 'reward', text: 'percentage on order (10% off the order)' },
    { label: 'priority', text: '0' },
  ]);
  assert.deepEqual(engine.describe('SAVE10'), all);
  assert.deepEqual(engine.describe('nope'), []);
  const { checkCharacter } = await loadPackage();
  // docs/cli.md's example code BACK-CCCV-F2BS-UCGD5: body CCCVF2BSUCGD, check 5.
  assert.equal(checkCharacter('CCCVF2BSUCGD'), '5');
  assert.equal(checkCharacter('0O1I'), undefined, 'characters outside the alphabet');
  const dts = fs.readFileSync(path.join(PKG_DIR, 'edge_coupons.d.ts'), 'utf8');
  assert.match(dts, /describe\(coupon_id\?: string \| null\): CouponDescription\[\]/);
  assert.match(dts, /export function checkCharacter\(body: string\): string \| undefined/);
});
