// Builds the JS value an engine result is handed over in (src/handoff.rs): `text` holds every
// string and key one after another, decoded from Wasm memory once; `words` (a Uint32Array view
// of Wasm memory, read before anything can move it) gives the shape: a tag in each word's low 4
// bits and a number in the rest, which for a string or a new key is where it ends in `text`, in
// UTF-16 code units. The objects are those JSON.parse makes of the result's JSON.
const NULL = 0, TRUE = 1, FALSE = 2, INT = 3, FLOAT = 4, STR = 5, ARRAY = 6, OBJECT = 7;
const END = 8, KEY = 9, KEY_AGAIN = 10;
const bits = new DataView(new ArrayBuffer(8));
const utf8 = new TextEncoder();

/**
 * The other way in: a request's `JSON.stringify` text as UTF-8 bytes, which wasm-bindgen copies
 * into Wasm memory in one go (a string it copies a character at a time). `undefined` for what
 * has no JSON text.
 */
export function jsonBytes(value) {
  const text = JSON.stringify(value);
  return text === undefined ? undefined : utf8.encode(text);
}

export function build(text, words) {
  let i = 0; // the next word
  let at = 0; // where the next string starts in `text`
  const keys = [];
  const cut = (end) => {
    if (end < at || end > text.length) malformed();
    const s = text.slice(at, end);
    at = end;
    return s;
  };
  const value = () => {
    if (i >= words.length) malformed();
    const w = words[i++];
    switch (w & 15) {
      case NULL: return null;
      case TRUE: return true;
      case FALSE: return false;
      case INT: return w >>> 4;
      case FLOAT:
        bits.setUint32(0, words[i++], true);
        bits.setUint32(4, words[i++], true);
        return bits.getFloat64(0, true);
      case STR: return cut(w >>> 4);
      case ARRAY: {
        const a = [];
        while (i < words.length && words[i] !== END) a.push(value());
        if (i++ >= words.length) malformed();
        return a;
      }
      case OBJECT: {
        const o = {};
        for (;;) {
          if (i >= words.length) malformed();
          const k = words[i++];
          let key;
          if (k === END) return o;
          if ((k & 15) === KEY) keys.push((key = cut(k >>> 4)));
          else if ((k & 15) === KEY_AGAIN && k >>> 4 < keys.length) key = keys[k >>> 4];
          else break;
          // As JSON.parse does: "__proto__" is a key like any other, not the prototype.
          if (key === '__proto__') Object.defineProperty(o, key, { value: value(), enumerable: true, writable: true, configurable: true });
          else o[key] = value();
        }
      }
    }
    malformed();
  };
  const malformed = () => {
    throw new Error(`edge-coupons: malformed result handoff at word ${i - 1}`);
  };
  const v = value();
  if (i !== words.length || at !== text.length) throw new Error('edge-coupons: malformed result handoff (left over)');
  return v;
}
