// `make bench`: times engine.evaluate against pkg/ and prints markdown tables. Never asserts.
// BENCH_BUDGET_MS (default 2500) bounds each grid cell's measuring time (the headline's: 4x).
import { performance } from 'node:perf_hooks';
import { loadPackage, signJws, testJwks, testSigningKey, wasmMemoryBytes } from '../tests/node/helpers.mjs';
import { NOW, makeManifest, makeRequest } from './fixtures.mjs';

const BUDGET_MS = Number(process.env.BENCH_BUDGET_MS ?? 2500);
const { CouponEngine } = await loadPackage();
if (typeof CouponEngine !== 'function') {
  console.error('bench: pkg/ exports no CouponEngine yet');
  process.exit(1);
}
const jwks = testJwks();
const key = testSigningKey();

function load(coupons) {
  const jws = signJws(makeManifest(coupons), key);
  const t0 = performance.now();
  const engine = CouponEngine.fromSignedManifest(jws, jwks, { now: NOW });
  return { engine, loadMs: performance.now() - t0, jwsBytes: jws.length };
}

/** One call's time in ms, after a few warm-up calls (the first calls run cold code). */
function calibrate(fn) {
  for (let i = 0; i < 3; i++) fn();
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return Math.max(best, 0.001);
}

/** Times `fn` `iterations` times after `warmup` calls; returns stats in ms. */
function time(fn, iterations, warmup) {
  for (let i = 0; i < warmup; i++) fn();
  const samples = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    fn();
    samples[i] = performance.now() - t0;
  }
  samples.sort();
  const total = samples.reduce((a, b) => a + b, 0);
  const pct = (p) => samples[Math.min(iterations - 1, Math.floor((p / 100) * iterations))];
  return { iterations, p50: pct(50), p99: pct(99), mean: total / iterations, perSec: (1000 * iterations) / total };
}

const ms = (x) => (x < 0.1 ? x.toFixed(4) : x < 10 ? x.toFixed(3) : x.toFixed(1));
const kib = (b) => `${(b / 1024).toFixed(0)} KiB`;
const failure = (err) => `error ${err?.code ?? ''} ${err?.message ?? err}`.trim();

console.log(`# edge-coupons evaluate benchmark\n\nNode ${process.version}, ${new Date().toISOString()}\n`);

// Headline: 100 coupons, 200 lines.
try {
  const { engine, loadMs, jwsBytes } = load(100);
  const req = makeRequest(200, 100);
  // 2000 iterations, fewer if that would take over ~4x the cell budget (slow builds stay usable).
  const once = calibrate(() => engine.evaluate(req));
  const n = Math.max(100, Math.min(2000, Math.floor((4 * BUDGET_MS) / once)));
  const s = time(() => engine.evaluate(req), n, Math.ceil(n / 10));
  console.log('## 100 coupons x 200 lines\n');
  console.log('| iterations | p50 ms | p99 ms | mean ms | evaluations/s | load ms | manifest JWS | Wasm memory |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
  console.log(`| ${s.iterations} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.mean)} | ${Math.round(s.perSec)} | ${ms(loadMs)} | ${kib(jwsBytes)} | ${kib(wasmMemoryBytes())} |\n`);
} catch (err) {
  console.log(`## 100 coupons x 200 lines\n\n${failure(err)}\n`);
}

// Grid: p50 (mean) ms per evaluate; iterations adapt to the budget so big cells stay short.
const LINES = [1, 10, 50, 200, 1000];
const COUPONS = [1, 10, 100, 1000];
console.log(`## Grid: p50 ms (mean ms, iterations), budget ${BUDGET_MS} ms per cell\n`);
console.log(`| lines \\ coupons | ${COUPONS.join(' | ')} |`);
console.log(`|---:|${COUPONS.map(() => '---:').join('|')}|`);
const engines = new Map();
for (const lines of LINES) {
  const cells = [];
  for (const coupons of COUPONS) {
    try {
      if (!engines.has(coupons)) engines.set(coupons, load(coupons).engine);
      const engine = engines.get(coupons);
      const req = makeRequest(lines, coupons);
      const once = calibrate(() => engine.evaluate(req));
      const iterations = Math.max(5, Math.min(2000, Math.floor(BUDGET_MS / once)));
      const s = time(() => engine.evaluate(req), iterations, Math.min(50, iterations));
      cells.push(`${ms(s.p50)} (${ms(s.mean)}, ${s.iterations})`);
    } catch (err) {
      cells.push(failure(err).replaceAll('|', '/'));
    }
  }
  console.log(`| ${lines} | ${cells.join(' | ')} |`);
}
console.log(`\nWasm linear memory after the grid: ${kib(wasmMemoryBytes())}`);
