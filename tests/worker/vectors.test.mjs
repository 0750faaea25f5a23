// Every shared vector (tests/vectors) played inside workerd with the Wasm the Worker runs (CONTRACT §6:
// the same results in native Rust, Node, the Worker and the browser). One test-only Worker
// (vectors-worker.js) plays them in a few batched requests; each vector is checked here exactly as
// tests/node/vectors.test.mjs checks it in Node (signed with the test key, `assertSubset`).
// A vector that cannot be read, or names an unknown op, fails; nothing is skipped.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { VECTORS_DIR, assertSubset, signJws, testJwks, testSigningKey } from '../node/helpers.mjs';
import { START_TIMEOUT, STOP_TIMEOUT, TEST_TIMEOUT } from './helpers.mjs';
import { startWorker } from './server.mjs';

const OPS = new Set(['load', 'evaluate', 'tray', 'checkCode']);
const BATCH = 100; // vectors per request: three requests for the whole folder
const files = fs.existsSync(VECTORS_DIR) ? fs.readdirSync(VECTORS_DIR).filter((f) => f.endsWith('.json')).sort() : [];

/** The vector, or the reason it cannot be played (reported by its own test, never skipped). */
function readVector(file) {
  let v;
  try {
    v = JSON.parse(fs.readFileSync(path.join(VECTORS_DIR, file), 'utf8'));
  } catch (e) {
    return { problem: `${file}: not valid JSON: ${e.message}` };
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return { problem: `${file}: a vector is a JSON object` };
  if (!OPS.has(v.op)) return { problem: `${file}: unknown op ${JSON.stringify(v.op)} (known: ${[...OPS].join(', ')})` };
  if (!('manifest' in v)) return { problem: `${file}: no manifest` };
  const keys = v.expect && typeof v.expect === 'object' ? Object.keys(v.expect) : [];
  if (keys.length !== 1 || !['result', 'error'].includes(keys[0])) {
    return { problem: `${file}: expect must hold exactly one of "result" or "error", got ${JSON.stringify(keys)}` };
  }
  if ('error' in v.expect && typeof v.expect.error !== 'string') return { problem: `${file}: expect.error is an error code string` };
  return { vector: v };
}

const vectors = new Map(files.map((f) => [f, readVector(f)]));
const outcomes = new Map(); // file -> { result } | { error }
let server;

before(async () => {
  server = await startWorker({ config: 'tests/worker/vectors.wrangler.toml' });
  const jwks = testJwks();
  const key = testSigningKey();
  const playable = [...vectors].filter(([, r]) => r.vector);
  for (let i = 0; i < playable.length; i += BATCH) {
    const batch = playable.slice(i, i + BATCH);
    const cases = batch.map(([, { vector: v }]) => ({
      jws: signJws(v.manifest, key), jwks, op: v.op, input: v.input ?? {}, now: v.now, limits: v.limits,
    }));
    const res = await fetch(server.url, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(cases),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    assert.equal(res.status, 200, `the vectors Worker answered ${res.status}: ${text.slice(0, 500)}`);
    const answers = JSON.parse(text);
    assert.equal(answers.length, batch.length);
    batch.forEach(([file], j) => outcomes.set(file, answers[j]));
  }
}, START_TIMEOUT);
after(() => server?.stop(), STOP_TIMEOUT);

test('tests/vectors holds at least one vector', () => {
  assert.ok(files.length >= 1, `no *.json vector in ${VECTORS_DIR}`);
});

for (const file of files) {
  test(`workerd: ${file}`, TEST_TIMEOUT, () => {
    const { vector: v, problem } = vectors.get(file);
    assert.ok(v, problem);
    const out = outcomes.get(file);
    assert.ok(out, 'no answer from the vectors Worker');
    if ('error' in v.expect) {
      assert.ok(out.error, `expected error ${v.expect.error}, but the call returned ${JSON.stringify(out.result)}`);
      assert.ok(out.error.is_error, `threw a non-Error: ${out.error.message}`);
      assert.equal(typeof out.error.code, 'string', `the Error has no string .code: ${out.error.message}`);
      assert.ok(out.error.message.length > 0, 'the Error has an empty message');
      assert.equal(out.error.code, v.expect.error, `wrong error code (message: ${out.error.message})`);
      return;
    }
    assert.ok(!out.error, `expected a result, but the call threw ${out.error?.code ?? ''}: ${out.error?.message}`);
    assertSubset(out.result, v.expect.result);
  });
}
