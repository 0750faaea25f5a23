// Builds the JS value an engine result is handed over in (src/handoff.rs): `text` holds every
// string and key one after another, decoded from Wasm memory once; `words` (a Uint32Array view
// of Wasm memory, read before anything can move it) gives the shape: a tag in each word's low 4
// bits and a number in the rest, which for a string or a new key is where it ends in `text`, in
// UTF-16 code units. The objects are those JSON.parse makes of the result's JSON. A request of
// plain data goes the other way in the same encoding (`flatten`, src/intake.rs).
const NULL = 0, TRUE = 1, FALSE = 2, INT = 3, FLOAT = 4, STR = 5, ARRAY = 6, OBJECT = 7;
const END = 8, KEY = 9, KEY_AGAIN = 10;
const bits = new DataView(new ArrayBuffer(8));
const utf8 = new TextEncoder();
const malformed = (word) => {
  throw new Error(`edge-coupons: malformed result handoff at word ${word}`);
};

/**
 * The other way in: a request's `JSON.stringify` text, which the Wasm side then has written as
 * UTF-8 straight into its memory (`utf8Into`). `undefined` for what has no JSON text.
 *
 * `JSON.stringify` writes a value JSON has no word for as another: NaN and ±Infinity (and a
 * function or `undefined` in an array) as `null`, a Map or a Set as `{}`; a count of `Infinity`
 * would be read as no count at all. Only a text holding `null` or `{}` can hide one, so only such
 * a text has its value looked at again (`refuseChanged`), to refuse such a value by its path.
 */
export function jsonText(value) {
  const text = JSON.stringify(value);
  if (text !== undefined && (text.includes('null') || text.includes('{}'))) refuseChanged(value);
  return text;
}

/**
 * Writes `text` as UTF-8 into `into`, a view of Wasm memory: the bytes written, or -1 when the
 * whole text does not fit. wasm-bindgen's own copy of a string goes a character at a time in
 * JS (a quarter of a millisecond for a 200-line request in a warm process, far more in a cold
 * one), and a `TextEncoder.encode` allocates a buffer to copy from.
 */
export function utf8Into(text, into) {
  const { read, written } = utf8.encodeInto(text, into);
  return read === text.length ? written : -1;
}

/**
 * The fast way in for a request of plain data (src/intake.rs): the encoding a result comes out in
 * (see `build`), made from the value by one walk, so that the engine neither reads JSON text nor
 * `JSON.stringify` writes it. Keys are text like strings (no `KEY_AGAIN`); a number is `INT` or,
 * when it is no integer from 0 to 2^28 - 1, `NUMBER` and the text `JSON.stringify` writes for it.
 * The words stay in `flat` until `takeFlat` copies them into Wasm memory.
 *
 * The number of words, or -1 when the value holds anything but plain objects and arrays (their
 * prototypes the built-in ones, no `toJSON`), well-formed strings, finite numbers, booleans and
 * null, or nests deeper than MAX_FLAT_DEPTH: such a request goes the JSON way (`jsonText`),
 * which refuses what it must and reads the rest as it always did. Values `JSON.stringify` leaves
 * out of an object (`undefined`, functions, symbols) are left out here too.
 */
export function flatten(value) {
  flatCount = 0;
  // `for ... in` (faster than `Object.keys`) sees inherited keys too: none unless someone made
  // one on Object.prototype, and then every value goes the JSON way.
  for (const _ in Object.prototype) return -1;
  try {
    if (!flatValue(value, 0)) return -1;
    const text = flatText;
    if (typeof text.isWellFormed !== 'function' || !text.isWellFormed()) return -1;
    flatPending = text;
    return flatCount;
  } finally {
    flatText = '';
  }
}

/** Copies the words `flatten` wrote into `into` (a view of Wasm memory); the text. */
export function takeFlat(into) {
  into.set(flat.subarray(0, into.length));
  if (flat.length > 65536) flat = new Uint32Array(4096); // a huge request's words are let go
  const text = flatPending;
  flatPending = '';
  return text;
}

const NUMBER = 11;
const MAX_FLAT_DEPTH = 100;
const MAX_END = 2 ** 28 - 1; // the largest number a word holds
let flat = new Uint32Array(4096);
let flatCount = 0;
let flatText = '';
let flatPending = '';

function flatWord(w) {
  if (flatCount === flat.length) {
    const more = new Uint32Array(flatCount * 2);
    more.set(flat);
    flat = more;
  }
  flat[flatCount++] = w;
}

function flatString(s, tag) {
  flatText += s;
  if (flatText.length > MAX_END) return false;
  flatWord(tag | (flatText.length << 4));
  return true;
}

function flatValue(v, depth) {
  switch (typeof v) {
    case 'string':
      return flatString(v, STR);
    case 'number':
      if (Number.isInteger(v) && v >= 0 && v <= MAX_END) {
        flatWord(INT | (v << 4));
        return true;
      }
      return Number.isFinite(v) && flatString(String(v), NUMBER);
    case 'boolean':
      flatWord(v ? TRUE : FALSE);
      return true;
    case 'object': {
      if (v === null) {
        flatWord(NULL);
        return true;
      }
      if (depth >= MAX_FLAT_DEPTH || v.toJSON !== undefined) return false;
      const proto = Object.getPrototypeOf(v);
      if (proto === Array.prototype) {
        flatWord(ARRAY);
        for (let i = 0; i < v.length; i++) {
          if (!flatValue(v[i], depth + 1)) return false; // a hole or undefined too
        }
      } else if (proto === Object.prototype || proto === null) {
        flatWord(OBJECT);
        for (const k in v) {
          const x = v[k];
          if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
          if (!flatString(k, KEY) || !flatValue(x, depth + 1)) return false;
        }
      } else return false;
      flatWord(END);
      return true;
    }
    default:
      return false;
  }
}

/**
 * Throws, with the `path` of the first value `JSON.stringify` would write as another, if any.
 * Looks at each value as `JSON.stringify` reads it (its `toJSON` first, a Number object as its
 * number), in the same order. A replacer function in `JSON.stringify` did the same at a call per
 * value: 150 µs for a 200-line request where this takes 28 (and the text alone 55).
 */
function refuseChanged(value) {
  const at = []; // the keys and indices down to the value looked at
  const refuse = (message) => {
    const path = at.reduce((p, k) => (typeof k === 'number' ? `${p}[${k}]` : p ? `${p}.${k}` : k), '');
    throw Object.assign(new Error(message), { path }); // the engine's error names the path
  };
  const look = (v, key, inArray) => {
    if (v !== null && typeof v === 'object' && typeof v.toJSON === 'function') v = v.toJSON(key);
    if (v instanceof Number) v = Number(v);
    switch (typeof v) {
      case 'number':
        if (!Number.isFinite(v)) refuse(`${v} is not a number JSON can carry`);
        return;
      case 'object':
        if (v === null || v instanceof String || v instanceof Boolean) return;
        if (v instanceof Map || v instanceof Set) {
          const [what, plain] = v instanceof Map ? ['Map', 'object'] : ['Set', 'array'];
          refuse(`a ${what} is not a JSON object or array: send a plain ${plain}`);
        }
        if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) {
            at.push(i);
            look(v[i], String(i), true);
            at.pop();
          }
        } else {
          for (const k of Object.keys(v)) {
            at.push(k);
            look(v[k], k, false);
            at.pop();
          }
        }
        return;
      case 'undefined':
      case 'function':
      case 'symbol':
        if (inArray) refuse(`an array item that is ${typeof v}, which JSON has not`);
    }
  };
  look(value, '', false);
}

/**
 * The value `words` describe, its strings cut from `text` in order. One loop over the words with
 * the open containers on a stack (a recursive reader kept its place in closure variables, which
 * V8 reads and writes through memory: 55 against 43 µs for the 200-line benchmark's result).
 */
export function build(text, words) {
  const n = words.length;
  const keys = []; // each key given whole, by number
  const open = []; // the containers around `into`
  let i = 0; // the next word
  let at = 0; // where the next string starts in `text`
  let into = null; // the innermost open array or object; null at the top
  let inObject = false;
  let key = '';
  let root;
  for (;;) {
    if (i >= n) malformed(i);
    let w = words[i++];
    if (into !== null && w === END) {
      if (open.length === 0) break; // the outermost container is closed: the value is whole
      into = open.pop();
      inObject = !Array.isArray(into);
      continue;
    }
    if (inObject) {
      const k = w >>> 4;
      if ((w & 15) === KEY) {
        if (k < at || k > text.length) malformed(i - 1);
        key = text.slice(at, k);
        at = k;
        keys.push(key);
      } else if ((w & 15) === KEY_AGAIN && k < keys.length) key = keys[k];
      else malformed(i - 1);
      if (i >= n) malformed(i);
      w = words[i++];
    }
    const tag = w & 15;
    let v;
    switch (tag) {
      case NULL: v = null; break;
      case TRUE: v = true; break;
      case FALSE: v = false; break;
      case INT: v = w >>> 4; break;
      case FLOAT:
        if (i + 2 > n) malformed(i);
        bits.setUint32(0, words[i++], true);
        bits.setUint32(4, words[i++], true);
        v = bits.getFloat64(0, true);
        break;
      case STR: {
        const end = w >>> 4;
        if (end < at || end > text.length) malformed(i - 1);
        v = text.slice(at, end);
        at = end;
        break;
      }
      case ARRAY: v = []; break;
      case OBJECT: v = {}; break;
      default: malformed(i - 1);
    }
    if (into === null) root = v;
    else if (!inObject) into.push(v);
    // As JSON.parse does: "__proto__" is a key like any other, not the prototype.
    else if (key === '__proto__') Object.defineProperty(into, key, { value: v, enumerable: true, writable: true, configurable: true });
    else into[key] = v;
    if (tag === ARRAY || tag === OBJECT) {
      if (into !== null) open.push(into);
      into = v;
      inObject = tag === OBJECT;
    } else if (into === null) break; // a value that is no container
  }
  if (i !== n || at !== text.length) throw new Error('edge-coupons: malformed result handoff (left over)');
  return root;
}
