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
fs.mkdirSync(OUT_DIR, { recursive: true });
for (const [coupons, name] of [[100, 'cold-start-100'], [1000, 'cold-start']]) {
  const jws = signJws(makeManifest(coupons), testSigningKey());
  const input = path.join(OUT_DIR, `${name}-input.json`);
  fs.writeFileSync(input, JSON.stringify({ jws, jwks: testJwks(), req: makeRequest(LINES, coupons) }));
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    runs.push(JSON.parse(execFileSync(process.execPath, [self, '--child', input], { encoding: 'utf8' })));
  }
  const phases = Object.keys(runs[0]);
  const summary = {};
  for (const p of phases) summary[p] = { median: median(runs.map((r) => r[p])), max: Math.max(...runs.map((r) => r[p])) };
  const coldKeys = ['compile', 'instantiate', 'loadManifest', 'firstEvaluate'];
  const totals = runs.map((r) => coldKeys.reduce((a, k) => a + r[k], 0));
  summary.total = { median: median(totals), max: Math.max(...totals) };
  const result = { node: process.version, runs: RUNS, coupons, lines: LINES, jwsBytes: jws.length, totalIs: coldKeys, phases: summary };
  console.log(`cold start (${RUNS} fresh processes, ${coupons} coupons, ${(jws.length / 1024).toFixed(0)} KiB JWS, ${LINES}-line cart), median / max ms:`);
  for (const [k, v] of Object.entries(summary)) console.log(`  ${k.padEnd(15)} ${ms(v.median)} / ${ms(v.max)}`);
  console.log(`results: ${writeResult(name, result)}`);
}
