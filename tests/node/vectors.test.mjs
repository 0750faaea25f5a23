// Plays every tests/vectors/*.json against the built package in pkg/, as tests/vectors/README.md says.
// A vector that cannot be read, or names an unknown op, fails; nothing is skipped.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { VECTORS_DIR, assertSubset, loadPackage, signJws, testJwks, testSigningKey } from './helpers.mjs';

const OPS = new Set(['load', 'evaluate', 'tray', 'checkCode']);
const files = fs.existsSync(VECTORS_DIR)
  ? fs.readdirSync(VECTORS_DIR).filter((f) => f.endsWith('.json')).sort()
  : [];

test('tests/vectors holds at least one vector', () => {
  assert.ok(files.length >= 1, `no *.json vector in ${VECTORS_DIR}`);
});

const withNow = (ctx, now) => (ctx?.now === undefined && now !== undefined ? { ...ctx, now } : ctx);

/** Loads the vector's manifest and runs its op; returns the op's result (load: the engine's id). */
function play(CouponEngine, v) {
  const jws = signJws(v.manifest, testSigningKey());
  const opts = {};
  if (v.now !== undefined) opts.now = v.now;
  if (v.limits !== undefined) opts.limits = v.limits;
  const engine = CouponEngine.fromSignedManifest(jws, testJwks(), opts);
  const input = v.input ?? {};
  switch (v.op) {
    case 'load':
      return { manifestId: engine.manifestId, manifest_id: engine.manifestId };
    case 'evaluate':
      return engine.evaluate(withNow(input, v.now));
    case 'tray':
      return engine.tray(withNow(input, v.now));
    case 'checkCode':
      return engine.checkCode(input.code, withNow(input.user ?? {}, v.now));
  }
  throw new Error(`unreachable op ${v.op}`);
}

function readVector(file) {
  const text = fs.readFileSync(path.join(VECTORS_DIR, file), 'utf8');
  let v;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON: ${e.message}`);
  }
  assert.ok(v && typeof v === 'object' && !Array.isArray(v), `${file}: a vector is a JSON object`);
  assert.ok(OPS.has(v.op), `${file}: unknown op ${JSON.stringify(v.op)} (known: ${[...OPS].join(', ')})`);
  assert.ok('manifest' in v, `${file}: no manifest`);
  const e = v.expect;
  assert.ok(e && typeof e === 'object', `${file}: no expect`);
  const keys = Object.keys(e);
  assert.ok(
    keys.length === 1 && (keys[0] === 'result' || keys[0] === 'error'),
    `${file}: expect must hold exactly one of "result" or "error", got ${JSON.stringify(keys)}`,
  );
  if ('error' in e) assert.equal(typeof e.error, 'string', `${file}: expect.error is an error code string`);
  return v;
}

for (const file of files) {
  test(file, async () => {
    const v = readVector(file);
    const { CouponEngine } = await loadPackage();
    assert.equal(typeof CouponEngine, 'function', 'pkg/ exports no CouponEngine');

    if ('error' in v.expect) {
      let result;
      try {
        result = play(CouponEngine, v);
      } catch (err) {
        assert.ok(err instanceof Error, `threw a non-Error: ${String(err)}`);
        assert.equal(typeof err.code, 'string', `the Error has no string .code: ${err.message}`);
        assert.ok(err.message.length > 0, 'the Error has an empty message');
        assert.equal(err.code, v.expect.error, `wrong error code (message: ${err.message})`);
        return;
      }
      assert.fail(`expected error ${v.expect.error}, but the call returned ${JSON.stringify(result)}`);
    }

    let result;
    try {
      result = play(CouponEngine, v);
    } catch (err) {
      assert.fail(`expected a result, but the call threw ${err?.code ?? ''}: ${err?.message ?? String(err)}`);
    }
    assertSubset(result, v.expect.result);
  });
}
