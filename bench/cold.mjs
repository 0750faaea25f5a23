// Cold start in Node: each run is a fresh process that imports the JS glue, compiles and
// instantiates the .wasm, verifies + parses a signed manifest, and evaluates a 10-line cart once
// (then once more, warm, for contrast). Two manifests: 100 coupons (issue 14's cold-start target)
// and 1,000. Writes target/bench/cold-start.json (1,000 coupons, as before) and
// target/bench/cold-start-100.json. BENCH_COLD_RUNS (default 15) fresh processes per manifest;
// medians and worst are reported.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { signJws, testJwks, testSigningKey } from '../tests/node/helpers.mjs';
import { NOW, makeManifest, makeRequest } from './fixtures.mjs';
import { OUT_DIR, PKG_DIR, ms, writeResult } from './lib.mjs';

const LINES = 10;

if (process.argv[2] === '--child') {
  const { jws, jwks, req } = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
  const t = [performance.now()];
  const mod = await import(pathToFileURL(path.join(PKG_DIR, 'edge_coupons.js')).href);
  t.push(performance.now());
  const bytes = fs.readFileSync(path.join(PKG_DIR, 'edge_coupons_bg.wasm'));
  t.push(performance.now());
  const module = new WebAssembly.Module(bytes);
  t.push(performance.now());
  mod.initSync({ module });
  t.push(performance.now());
  const engine = mod.CouponEngine.fromSignedManifest(jws, jwks, { now: NOW });
  t.push(performance.now());
  engine.evaluate(req);
  t.push(performance.now());
  engine.evaluate(req);
  t.push(performance.now());
  const d = (i) => t[i + 1] - t[i];
  process.stdout.write(JSON.stringify({
    importGlue: d(0), readWasm: d(1), compile: d(2), instantiate: d(3), loadManifest: d(4), firstEvaluate: d(5), secondEvaluate: d(6),
  }));
  process.exit(0);
}

const RUNS = Number(process.env.BENCH_COLD_RUNS ?? 15);
const self = fileURLToPath(import.meta.url);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const coldKeys = ['compile', 'instantiate', 'loadManifest', 'firstEvaluate'];

/** RUNS fresh processes (node `flags` ...) on `input`: each phase's median and worst, and the total's. */
function measure(input, flags = []) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    runs.push(JSON.parse(execFileSync(process.execPath, [...flags, self, '--child', input], { encoding: 'utf8' })));
  }
  const summary = {};
  for (const p of Object.keys(runs[0])) summary[p] = { median: median(runs.map((r) => r[p])), max: Math.max(...runs.map((r) => r[p])) };
  const totals = runs.map((r) => coldKeys.reduce((a, k) => a + r[k], 0));
  summary.total = { median: median(totals), max: Math.max(...totals) };
  return summary;
}

/** Wasm functions V8 compiles in one child run with `flags` (its --trace-wasm-compilation-times lines). */
function compiledFunctions(input, flags) {
  const out = execFileSync(process.execPath, [...flags, '--trace-wasm-compilation-times', self, '--child', input], { encoding: 'utf8' });
  const bodies = [...out.matchAll(/^Compiled function .* bodysize (\d+)/gm)].map((m) => Number(m[1]));
  return { functions: bodies.length, bodyBytes: bodies.reduce((a, b) => a + b, 0) };
}

fs.mkdirSync(OUT_DIR, { recursive: true });
for (const [coupons, name] of [[100, 'cold-start-100'], [1000, 'cold-start']]) {
  const jws = signJws(makeManifest(coupons), testSigningKey());
  const input = path.join(OUT_DIR, `${name}-input.json`);
  fs.writeFileSync(input, JSON.stringify({ jws, jwks: testJwks(), req: makeRequest(LINES, coupons) }));
  const summary = measure(input);
  const result = { node: process.version, runs: RUNS, coupons, lines: LINES, jwsBytes: jws.length, totalIs: coldKeys, phases: summary };
  console.log(`cold start (${RUNS} fresh processes, ${coupons} coupons, ${(jws.length / 1024).toFixed(0)} KiB JWS, ${LINES}-line cart), median / max ms:`);
  for (const [k, v] of Object.entries(summary)) console.log(`  ${k.padEnd(15)} ${ms(v.median)} / ${ms(v.max)}`);
  if (coupons === 100) {
    // Where the cold time goes inside V8, 100 coupons: Node compiles a function only when it is
    // first called (Liftoff, the baseline tier) and recompiles hot ones with TurboFan meanwhile.
    // The same runs with the optimizing tier off, with one thread for V8's background jobs (the
    // TurboFan ones take the machine's cores from the main thread), and with every function
    // compiled up front.
    result.v8 = {
      lazyFunctions: compiledFunctions(input, ['--liftoff-only']),
      allFunctions: compiledFunctions(input, ['--liftoff-only', '--no-wasm-lazy-compilation']),
      modes: [['default', []], ['--liftoff-only', ['--liftoff-only']], ['--v8-pool-size=1', ['--v8-pool-size=1']],
        ['--no-wasm-lazy-compilation', ['--no-wasm-lazy-compilation']]]
        .map(([mode, flags]) => ({ mode, phases: flags.length ? measure(input, flags) : summary })),
    };
    const { lazyFunctions: lazy, allFunctions: all } = result.v8;
    console.log(`  V8: ${lazy.functions} of ${all.functions} Wasm functions compiled on first use; total median by mode: ${result.v8.modes.map((m) => `${m.mode} ${ms(m.phases.total.median)}`).join(', ')}`);
  }
  console.log(`results: ${writeResult(name, result)}`);
}
