// Plays every tests/vectors/*.json against the built package in pkg/, as tests/vectors/README.md says.
// A vector that cannot be read, or names an unknown op, fails; nothing is skipped. The Worker and
// browser suites play the same vectors with the same code (tests/vectors/play.mjs) and checks.
import assert from 'node:assert/strict';
import test from 'node:test';
import { VECTORS_DIR, checkVector, loadPackage, readVector, vectorFiles, vectorJob } from './helpers.mjs';
import { playVector } from '../vectors/play.mjs';

const files = vectorFiles();

test('tests/vectors holds at least one vector', () => {
  assert.ok(files.length >= 1, `no *.json vector in ${VECTORS_DIR}`);
});

for (const file of files) {
  test(file, async () => {
    const v = readVector(file);
    const { CouponEngine } = await loadPackage();
    assert.equal(typeof CouponEngine, 'function', 'pkg/ exports no CouponEngine');
    checkVector(v, playVector(CouponEngine, vectorJob(v)));
  });
}
