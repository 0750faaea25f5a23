// Evaluate timings in Node through the JS API (pkg/): the 200 x 100 headline and the grid of cart
// lines {1, 10, 50, 200, 1000} x coupons {1, 10, 100, 1000}. Prints markdown and writes
// target/bench/node-eval.json for bench/report.mjs. Never asserts.
// BENCH_BUDGET_MS (default 1500) bounds each grid cell's measuring time (the headline's: 4x).
import { performance } from 'node:perf_hooks';
import { signJws, testJwks, testSigningKey } from '../tests/node/helpers.mjs';
import { COUPONS, LINES, NOW, makeManifest, makeRequest } from './fixtures.mjs';
import { BUDGET_MS, calibrate, failure, kib, loadPackage, ms, time, timeWithin, wasmMemoryBytes, writeResult } from './lib.mjs';

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

const result = { node: process.version, budgetMs: BUDGET_MS, headline: null, grid: [] };
console.log(`# edge-coupons evaluate benchmark (Node)\n\nNode ${process.version}, ${new Date().toISOString()}\n`);

// Headline: 100 coupons, 200 lines. 2000 iterations, fewer if that would take over ~4x the cell budget.
try {
  const { engine, loadMs, jwsBytes } = load(100);
  const req = makeRequest(200, 100);
  const once = calibrate(() => engine.evaluate(req));
  const n = Math.max(100, Math.min(2000, Math.floor((4 * BUDGET_MS) / once)));
  const s = time(() => engine.evaluate(req), n, Math.ceil(n / 10));
  result.headline = { lines: 200, coupons: 100, ...s, loadMs, jwsBytes, memoryBytes: wasmMemoryBytes(), resultBytes: Buffer.byteLength(JSON.stringify(engine.evaluate(req))) };
  console.log('## 100 coupons x 200 lines\n');
  console.log('| iterations | p50 ms | p99 ms | mean ms | evaluations/s | load ms | manifest JWS | Wasm memory |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
  console.log(`| ${s.iterations} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.mean)} | ${Math.round(s.perSec)} | ${ms(loadMs)} | ${kib(jwsBytes)} | ${kib(wasmMemoryBytes())} |\n`);
} catch (err) {
  result.headline = { lines: 200, coupons: 100, error: failure(err) };
  console.log(`## 100 coupons x 200 lines\n\n${failure(err)}\n`);
}

// Ways in: the headline's request as a caller may send it. A text holding `null` or `{}` is looked
// at again value by value (js/handoff.js), which many real requests pay; the Worker passes text.
try {
  const { engine } = load(100);
  const req = makeRequest(200, 100);
  const withNull = { ...req, user: { ...req.user, properties: { ...req.user.properties, nickname: null } } };
  const text = JSON.stringify(req);
  result.ways = [
    ['`evaluate(request)`', () => engine.evaluate(req)],
    ['`evaluate(request)`, the request holding a `null`', () => engine.evaluate(withNull)],
    ['`evaluateJson(text)` (the Worker)', () => engine.evaluateJson(text)],
  ].map(([way, fn]) => ({ way, ...timeWithin(fn) }));
  console.log('## Ways in, 100 coupons x 200 lines\n');
  for (const w of result.ways) console.log(`- ${w.way}: p50 ${ms(w.p50)} ms, p99 ${ms(w.p99)} ms`);
  console.log();
} catch (err) {
  result.ways = { error: failure(err) };
}

// Grid: iterations adapt to the budget so big cells stay short.
console.log(`## Grid: p50 / p99 ms (iterations), budget ${BUDGET_MS} ms per cell\n`);
console.log(`| lines \\ coupons | ${COUPONS.join(' | ')} |`);
console.log(`|---:|${COUPONS.map(() => '---:').join('|')}|`);
const engines = new Map();
for (const lines of LINES) {
  const cells = [];
  for (const coupons of COUPONS) {
    try {
      if (!engines.has(coupons)) engines.set(coupons, load(coupons));
      const { engine, loadMs } = engines.get(coupons);
      const req = makeRequest(lines, coupons);
      const s = timeWithin(() => engine.evaluate(req));
      result.grid.push({ lines, coupons, ...s, loadMs });
      cells.push(`${ms(s.p50)} / ${ms(s.p99)} (${s.iterations})`);
    } catch (err) {
      result.grid.push({ lines, coupons, error: failure(err) });
      cells.push(failure(err).replaceAll('|', '/'));
    }
  }
  console.log(`| ${lines} | ${cells.join(' | ')} |`);
}
result.memoryBytesAfterGrid = wasmMemoryBytes();
console.log(`\nWasm linear memory after the grid: ${kib(result.memoryBytesAfterGrid)}`);
console.log(`results: ${writeResult('node-eval', result)}`);
