// Shared by the Node tests and the benchmarks: load pkg/, sign manifests, subset-match results.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { vectorText } from '../vectors/play.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const PKG_DIR = path.join(ROOT, 'pkg');
// EDGE_COUPONS_VECTORS points the runners at another folder (for trying a vector out of tree).
export const VECTORS_DIR = path.resolve(process.env.EDGE_COUPONS_VECTORS ?? path.join(ROOT, 'tests/vectors'));
export const TEST_KID = 'test-key-1';

const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));

/** The test-only signing key (private JWK) and the matching JWKS, from tests/keys/. */
export const testSigningKey = () => readJson(path.join(ROOT, 'tests/keys/test-signing-key.jwk.json'));
export const testJwks = () => readJson(path.join(ROOT, 'tests/keys/test-jwks.json'));

let pkg;
let wasmExports;
/** Bytes of linear memory the package's Wasm instance holds now (after loadPackage). */
export const wasmMemoryBytes = () => wasmExports?.memory?.buffer.byteLength ?? 0;

/** Imports pkg/edge_coupons.js and instantiates its Wasm synchronously, once per process. */
export async function loadPackage() {
  if (pkg) return pkg;
  const js = path.join(PKG_DIR, 'edge_coupons.js');
  const wasm = path.join(PKG_DIR, 'edge_coupons_bg.wasm');
  if (!fs.existsSync(js) || !fs.existsSync(wasm)) {
    throw new Error(`no package in ${PKG_DIR}: run 'make pkg' first`);
  }
  const mod = await import(pathToFileURL(js).href);
  wasmExports = mod.initSync({ module: fs.readFileSync(wasm) });
  pkg = mod;
  return pkg;
}

export const base64url = (bytes) => Buffer.from(bytes).toString('base64url');

/**
 * Signs `payload` (an object, serialised with JSON.stringify, or a string / bytes used as is) into
 * a compact JWS with alg EdDSA. `jwk` is an Ed25519 private JWK; `kid` defaults to the JWK's own.
 */
export function signJws(payload, jwk = testSigningKey(), kid = jwk.kid ?? TEST_KID) {
  const header = base64url(JSON.stringify({ alg: 'EdDSA', kid }));
  const body = base64url(
    typeof payload === 'string' || payload instanceof Uint8Array ? payload : JSON.stringify(payload),
  );
  const signingInput = `${header}.${body}`;
  const key = crypto.createPrivateKey({ key: jwk, format: 'jwk' });
  return `${signingInput}.${base64url(crypto.sign(null, Buffer.from(signingInput), key))}`;
}

/**
 * A fresh Ed25519 key pair as JWKs (private with `d`, public without), both carrying `kid`.
 *
 * Made as JWKs by the key generation itself: `generateKeyPairSync('ed25519')` and then
 * `KeyObject.export({ format: 'jwk' })` can deadlock Node 20 (v20.20.2 here). A garbage
 * collection during the export runs the finished key job's destructor, which waits on the lock
 * the export holds, and the process hangs with every timer stopped. It happened once in a few
 * thousand calls, and hung a whole CI run in a browser test's start.
 */
export function generateKeyPair(kid) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519', {
    privateKeyEncoding: { format: 'jwk' },
    publicKeyEncoding: { format: 'jwk' },
  });
  const common = { kid, alg: 'EdDSA', use: 'sig' };
  return { privateJwk: { ...privateKey, ...common }, publicJwk: { ...publicKey, ...common } };
}

const describe = (v) => {
  if (v instanceof Map) return `Map(${v.size})`;
  if (v === undefined) return 'undefined';
  if (typeof v === 'bigint') return `${v}n`;
  const s = JSON.stringify(v);
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
};
const kind = (v) =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : v instanceof Map ? 'Map' : typeof v;

/**
 * Where `actual` fails to contain `expected` (tests/vectors/README.md): every key of an expected
 * object present with a matching value, arrays of the same length matched element by element,
 * scalars equal. Returns null when it matches, else a message naming the first differing path.
 */
export function subsetMismatch(actual, expected, at = '$') {
  const fail = (why) => `at ${at}: ${why}`;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return fail(`expected an array, got ${kind(actual)} ${describe(actual)}`);
    if (actual.length !== expected.length) {
      return fail(`expected ${expected.length} elements, got ${actual.length}: ${describe(actual)}`);
    }
    for (let i = 0; i < expected.length; i++) {
      const m = subsetMismatch(actual[i], expected[i], `${at}[${i}]`);
      if (m) return m;
    }
    return null;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual instanceof Map) {
      return fail('got a JS Map where a plain object was expected (js/handoff.js builds plain objects)');
    }
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
      return fail(`expected an object, got ${kind(actual)} ${describe(actual)}`);
    }
    for (const key of Object.keys(expected)) {
      const sub = /^[A-Za-z_$][\w$]*$/.test(key) ? `${at}.${key}` : `${at}[${JSON.stringify(key)}]`;
      if (!(key in actual)) {
        return `at ${sub}: missing (present keys: ${Object.keys(actual).join(', ') || 'none'})`;
      }
      const m = subsetMismatch(actual[key], expected[key], sub);
      if (m) return m;
    }
    return null;
  }
  if (actual !== expected) {
    const hint = expected === null && actual === undefined
      ? ' (a None is null in the handoff: src/handoff.rs)'
      : '';
    const type = kind(actual) === kind(expected) || actual == null ? '' : `${kind(actual)} `;
    return fail(`expected ${describe(expected)}, got ${type}${describe(actual)}${hint}`);
  }
  return null;
}

/** Throws an AssertionError naming the first path where `actual` does not contain `expected`. */
export function assertSubset(actual, expected, label = 'result') {
  const m = subsetMismatch(actual, expected);
  if (m) assert.fail(`${label} ${m}`);
}

export const VECTOR_OPS = new Set(['load', 'evaluate', 'tray', 'checkCode', 'distribute']);

/** The vector files, sorted (none when the folder is missing; runners test that there is one). */
export const vectorFiles = () =>
  fs.existsSync(VECTORS_DIR) ? fs.readdirSync(VECTORS_DIR).filter((f) => f.endsWith('.json')).sort() : [];

/** Reads a vector and checks its shape; throws with the file and what is wrong. */
export function readVector(file) {
  let v;
  try {
    v = JSON.parse(fs.readFileSync(path.join(VECTORS_DIR, file), 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON: ${e.message}`);
  }
  assert.ok(v && typeof v === 'object' && !Array.isArray(v), `${file}: a vector is a JSON object`);
  assert.ok(VECTOR_OPS.has(v.op), `${file}: unknown op ${JSON.stringify(v.op)} (known: ${[...VECTOR_OPS].join(', ')})`);
  assert.ok('manifest' in v, `${file}: no manifest`);
  const keys = v.expect && typeof v.expect === 'object' ? Object.keys(v.expect).filter((k) => k !== 'path') : [];
  assert.ok(
    keys.length === 1 && (keys[0] === 'result' || keys[0] === 'error'),
    `${file}: expect must hold exactly one of "result" or "error", got ${JSON.stringify(keys)}`,
  );
  if ('error' in v.expect) assert.equal(typeof v.expect.error, 'string', `${file}: expect.error is an error code string`);
  if ('path' in v.expect) assert.ok('error' in v.expect && typeof v.expect.path === 'string', `${file}: expect.path is a string beside expect.error`);
  if ('input_text' in v) assert.ok(v.op === 'evaluate' && !('input' in v), `${file}: input_text is an evaluate's whole input`);
  if ('jws' in v) assert.ok(!('text' in v.jws) || Object.keys(v.jws).length === 1, `${file}: jws.text is the whole JWS, alone`);
  return v;
}

/**
 * The job a runtime plays for a vector (tests/vectors/play.mjs): signed with the test key, then
 * the JWS's header or signature replaced where `jws` says; or the JWS given whole as `jws.text`
 * (in pieces, joined by the runtime, as `input_text` is).
 */
export function vectorJob(v, jwks = testJwks()) {
  let jws = v.jws?.text ?? signJws(v.manifest);
  if (v.jws?.header !== undefined || v.jws?.signature !== undefined) {
    const [header, payload, signature] = jws.split('.');
    jws = [v.jws.header === undefined ? header : base64url(vectorText(v.jws.header)), payload, v.jws.signature ?? signature].join('.');
  }
  const job = { jws, jwks, op: v.op, input: v.input ?? {}, now: v.now, limits: v.limits };
  if (v.input_text !== undefined) job.input_text = v.input_text;
  return job;
}

/** Checks what a runtime answered for a vector against its `expect`. */
export function checkVector(v, out) {
  assert.ok(out && typeof out === 'object', 'the vector was not played');
  if ('error' in v.expect) {
    assert.ok(out.error, `expected error ${v.expect.error}, but the call returned ${JSON.stringify(out.result)}`);
    assert.ok(out.error.is_error, `threw a non-Error: ${out.error.message}`);
    assert.equal(typeof out.error.code, 'string', `the Error has no string .code: ${out.error.message}`);
    assert.ok(out.error.message.length > 0, 'the Error has an empty message');
    assert.equal(out.error.code, v.expect.error, `wrong error code (message: ${out.error.message})`);
    if ('path' in v.expect) assert.equal(out.error.path, v.expect.path, `wrong error path (message: ${out.error.message})`);
    return;
  }
  assert.ok(!out.error, `expected a result, but the call threw ${out.error?.code ?? ''}: ${out.error?.message}`);
  assertSubset(out.result, v.expect.result);
}
