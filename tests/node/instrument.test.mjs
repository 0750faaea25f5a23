// The instruction counter behind the gate and the profile (bench/instrument.mjs): exact counts on a
// small module whose instructions can be counted by hand, per-function counters that add up to the
// total, and the package counted the same with and without them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import binaryen from 'binaryen';
import { functionNames, instrumentWasm } from '../../bench/instrument.mjs';
import { NOW, makeManifest, makeRequest } from '../../bench/fixtures.mjs';
import { PKG_DIR, signJws, testJwks, testSigningKey } from './helpers.mjs';

// sum(n) adds n, n-1, ..., 1 in a loop; twice(n) calls it two times.
const WAT = `(module
  (global $unused (mut i32) (i32.const 0))
  (func $sum (export "sum") (param $n i32) (result i32) (local $acc i32)
    (block $done
      (loop $top
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $top)))
    (local.get $acc))
  (func $twice (export "twice") (param $n i32) (result i32)
    (i32.add (call $sum (local.get $n)) (call $sum (local.get $n)))))`;

function small() {
  const mod = binaryen.parseText(WAT);
  binaryen.setDebugInfo(true); // keep the function names
  try {
    return Buffer.from(mod.emitBinary());
  } finally {
    binaryen.setDebugInfo(false);
    mod.dispose();
  }
}

test('instructions are counted exactly: blocks, loops and ends are free, every other one counts 1', async () => {
  const { instance } = await WebAssembly.instantiate(instrumentWasm(small()));
  const { sum, twice, __icount: total } = instance.exports;
  // A loop turn: local.get, i32.eqz, br_if; local.get x2, i32.add, local.set, local.get,
  // i32.const, i32.sub, local.set, br (12). The last test (3) and local.get acc (1).
  for (const n of [0, 1, 10]) {
    const before = total.value;
    assert.equal(sum(n), (n * (n + 1)) / 2);
    assert.equal(total.value - before, BigInt(12 * n + 4), `sum(${n})`);
  }
  const before = total.value;
  twice(5);
  // twice itself: local.get, call, local.get, call, i32.add (5), and sum(5) twice.
  assert.equal(total.value - before, BigInt(5 + 2 * (12 * 5 + 4)));
});

test('per function: each counts its own instructions, by function index, with its name', async () => {
  const bytes = small();
  const names = functionNames(bytes);
  assert.deepEqual([...names.values()], ['sum', 'twice']);
  const { instance } = await WebAssembly.instantiate(instrumentWasm(bytes, { perFunction: true }));
  const ex = instance.exports;
  ex.twice(5);
  assert.equal(ex.__icount_f0.value, BigInt(2 * (12 * 5 + 4)));
  assert.equal(ex.__icount_f1.value, 5n);
  assert.equal(ex.__icount.value, ex.__icount_f0.value + ex.__icount_f1.value);
});

test('the package: per-function counters add up to the total, and the total is the gate\'s', async () => {
  const glue = pathToFileURL(path.join(PKG_DIR, 'edge_coupons.js')).href;
  const bytes = fs.readFileSync(path.join(PKG_DIR, 'edge_coupons_bg.wasm'));
  const jws = signJws(makeManifest(100), testSigningKey());
  const req = makeRequest(50, 100);
  const counted = async (perFunction) => {
    // A fresh copy of the glue per instance: it keeps one instance in module state.
    const mod = await import(`${glue}?${perFunction}`);
    const ex = mod.initSync({ module: instrumentWasm(bytes, { perFunction }) });
    const engine = mod.CouponEngine.fromSignedManifest(jws, testJwks(), { now: NOW });
    engine.evaluate(req);
    const fns = Object.keys(ex).filter((k) => k.startsWith('__icount_f'));
    const snap = () => [ex.__icount.value, fns.reduce((s, k) => s + ex[k].value, 0n)];
    const [t0, f0] = snap();
    engine.evaluate(req);
    const [t1, f1] = snap();
    return { total: t1 - t0, functions: f1 - f0, counters: fns.length };
  };
  const plain = await counted(false);
  const each = await counted(true);
  assert.equal(plain.counters, 0);
  assert.ok(each.counters > 100, `${each.counters} function counters`);
  assert.ok(plain.total > 0n);
  assert.equal(each.total, plain.total, 'the per-function build counts the same total');
  assert.equal(each.functions, each.total, 'the functions add up to the total');
});
