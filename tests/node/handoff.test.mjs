// pkg/edge_coupons_handoff.js, which builds every result's objects from the text and words the
// Wasm hands over (src/handoff.rs). Whole results are checked by every vector; here, what no
// result of today's shapes holds: a "__proto__" key, numbers as f64 bits, strings past the Basic
// Multilingual Plane, and malformed input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PKG_DIR } from './helpers.mjs';

const { build, flatten, takeFlat } = await import(pathToFileURL(path.join(PKG_DIR, 'edge_coupons_handoff.js')).href);
const [NULL, TRUE, FALSE, INT, FLOAT, STR, ARRAY, OBJECT, END, KEY, KEY_AGAIN] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const words = (...w) => new Uint32Array(w);
const at = (tag, n) => tag | (n << 4); // a tag with its number (src/handoff.rs)

test('objects, arrays, repeated keys and every scalar come back as JSON.parse would give them', () => {
  const f = new DataView(new ArrayBuffer(8));
  f.setFloat64(0, -2.5, true);
  const text = 'ab' + 'x' + '𝄞é';
  const v = build(text, words(
    ARRAY,
    OBJECT, at(KEY, 1), at(INT, 7), at(KEY, 2), NULL, END,
    OBJECT, at(KEY_AGAIN, 0), TRUE, at(KEY_AGAIN, 1), FALSE, END,
    at(STR, 3), at(STR, 6), FLOAT, f.getUint32(0, true), f.getUint32(4, true), at(INT, 2 ** 28 - 1),
    END));
  assert.deepEqual(v, [{ a: 7, b: null }, { a: true, b: false }, 'x', '𝄞é', -2.5, 2 ** 28 - 1]);
});

test('a "__proto__" key is an own property, as JSON.parse makes it, never the prototype', () => {
  const v = build('__proto__polluted', words(OBJECT, at(KEY, 9), OBJECT, at(KEY, 17), TRUE, END, END));
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.deepEqual(Object.keys(v), ['__proto__']);
  assert.equal(v.polluted, undefined);
  assert.deepEqual(JSON.stringify(v), '{"__proto__":{"polluted":true}}');
  assert.equal({}.polluted, undefined);
});

test('malformed words or text left over are an error, not a wrong value', () => {
  assert.throws(() => build('', words(15)), /malformed result handoff/);
  assert.throws(() => build('', words(OBJECT, at(INT, 1), END)), /malformed result handoff/);
  assert.throws(() => build('abc', words(at(STR, 2))), /left over/);
  assert.throws(() => build('', words(NULL, NULL)), /left over/);
  // Words that stop inside an array or an object, a key number never given, a string past the text.
  assert.throws(() => build('', words(ARRAY, NULL)), /malformed result handoff/);
  assert.throws(() => build('a', words(OBJECT, at(KEY, 1))), /malformed result handoff/);
  assert.throws(() => build('', words(OBJECT, at(KEY_AGAIN, 0), NULL, END)), /malformed result handoff/);
  assert.throws(() => build('ab', words(at(STR, 3))), /malformed result handoff/);
  assert.throws(() => build('', words()), /malformed result handoff/);
});

/** flatten's encoding of `v` (src/intake.rs) read back: the value JSON.parse makes of its text. */
function unflatten(v) {
  const n = flatten(v);
  if (n < 0) return undefined;
  const w = new Uint32Array(n);
  const text = takeFlat(w);
  let i = 0;
  let at = 0;
  const cut = (word) => text.slice(at, (at = word >>> 4));
  const value = () => {
    const word = w[i++];
    switch (word & 15) {
      case NULL: return null;
      case TRUE: return true;
      case FALSE: return false;
      case INT: return word >>> 4;
      case 11: { const digits = cut(word); assert.equal(digits, JSON.stringify(Number(digits))); return Number(digits); }
      case STR: return cut(word);
      case ARRAY: { const a = []; while (w[i] !== END) a.push(value()); i++; return a; }
      case OBJECT: {
        const o = {};
        while (w[i] !== END) {
          assert.equal(w[i] & 15, KEY);
          const k = cut(w[i++]);
          Object.defineProperty(o, k, { value: value(), enumerable: true, writable: true, configurable: true });
        }
        i++;
        return o;
      }
      default: assert.fail(`word ${word}`);
    }
  };
  const out = value();
  assert.equal(i, n, 'words left over');
  assert.equal(at, text.length, 'text left over');
  return out;
}

test('flatten: plain data is encoded as its JSON text says, anything else is left to JSON.stringify', () => {
  const plain = [
    { a: [1, -2, -0, 1.5, 2 ** 28 - 1, 2 ** 28, 2 ** 53 + 2, 1e21, 5e-7, 0.1 + 0.2], b: null, c: [true, false, '', 'é', '👟', {}] },
    Object.assign(Object.create(null), { x: { y: [[]] } }),
    { skipped: undefined, f() {}, [Symbol('s')]: 1, s: Symbol('t'), kept: 'k' },
    JSON.parse('{"__proto__":{"p":1},"n":2}'),
    { get g() { return 'got'; } },
    'text', 42, true, null,
  ];
  for (const v of plain) assert.deepEqual(unflatten(v), JSON.parse(JSON.stringify(v)));
  const cyclic = {};
  cyclic.self = cyclic;
  const deep = JSON.parse('['.repeat(101) + ']'.repeat(101));
  for (const v of [undefined, NaN, -Infinity, 1n, [1, , 2], [undefined], new Date(0), { toJSON: () => 1 }, new Map(), new Set(), new Number(1), new String('s'),
    class {}, new (class Point { constructor() { this.x = 1; } })(), cyclic, deep, 'a\ud800', { k: ['\udc00'] }]) {
    assert.equal(flatten(v), -1, String(v));
  }
  assert.deepEqual(unflatten(deep[0]), deep[0]); // 100 levels still go flat
});
