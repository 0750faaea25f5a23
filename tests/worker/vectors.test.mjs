// Every shared vector (tests/vectors) played inside workerd with the Wasm the Worker runs (CONTRACT §6:
// the same results in native Rust, Node, the Worker and the browser). One test-only Worker
// (vectors-worker.js) plays them in a few batched requests; each vector is checked here exactly as
// tests/node/vectors.test.mjs checks it in Node (tests/vectors/play.mjs, `checkVector`).
// A vector that cannot be read, or names an unknown op, fails; nothing is skipped.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { VECTORS_DIR, checkVector, readVector, testJwks, vectorFiles, vectorJob } from '../node/helpers.mjs';
import { START_TIMEOUT, STOP_TIMEOUT, TEST_TIMEOUT } from './helpers.mjs';
import { startWorker } from './server.mjs';

const BATCH = 100; // vectors per request: a few requests for the whole folder
const files = vectorFiles();

/** The vector, or why it cannot be played (reported by its own test, never skipped). */
const vectors = new Map(files.map((f) => {
  try {
    return [f, { vector: readVector(f) }];
  } catch (err) {
    return [f, { problem: err }];
  }
}));
const outcomes = new Map(); // file -> { result } | { error }
let server;

before(async () => {
  server = await startWorker({ config: 'tests/worker/vectors.wrangler.toml' });
  const jwks = testJwks();
  const playable = [...vectors].filter(([, r]) => r.vector);
  for (let i = 0; i < playable.length; i += BATCH) {
    const batch = playable.slice(i, i + BATCH);
    const cases = batch.map(([, { vector: v }]) => vectorJob(v, jwks));
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
    if (problem) throw problem;
    assert.ok(outcomes.get(file), 'no answer from the vectors Worker');
    checkVector(v, outcomes.get(file));
  });
}
