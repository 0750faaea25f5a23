// Shared by the bench/*.mjs scripts: timing, number formatting and the results folder.
// Benchmarks never assert: they measure and record.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../tests/node/helpers.mjs';

/** Where each script writes its JSON results (scripts/bench.sh and bench/report.mjs read them). */
export const OUT_DIR = path.resolve(process.env.BENCH_OUT ?? path.join(ROOT, 'target/bench'));
/** The package measured: scripts/bench.sh snapshots pkg/ here so that a rebuild of pkg/ during the
 * run (someone else's `make pkg`) cannot mix two builds in one report. Defaults to pkg/. */
export const PKG_DIR = path.resolve(process.env.BENCH_PKG ?? path.join(ROOT, 'pkg'));
let wasmExports;
let pkg;
/** Imports the package's JS glue and instantiates its Wasm synchronously, once per process. */
export async function loadPackage() {
  if (pkg) return pkg;
  const mod = await import(pathToFileURL(path.join(PKG_DIR, 'edge_coupons.js')).href);
  wasmExports = mod.initSync({ module: fs.readFileSync(path.join(PKG_DIR, 'edge_coupons_bg.wasm')) });
  pkg = mod;
  return pkg;
}
/** Bytes of linear memory the package's Wasm instance holds now (after loadPackage). */
export const wasmMemoryBytes = () => wasmExports?.memory?.buffer.byteLength ?? 0;
/** Measuring time per grid cell, ms. */
export const BUDGET_MS = Number(process.env.BENCH_BUDGET_MS ?? 1500);

export function writeResult(name, data) {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const file = path.join(OUT_DIR, `${name}.json`);
  fs.writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

export function readResult(name) {
  const file = path.join(OUT_DIR, `${name}.json`);
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : null;
}

/** One call's time in ms, after a few warm-up calls (the first calls run cold code). */
export function calibrate(fn) {
  for (let i = 0; i < 3; i++) fn();
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return Math.max(best, 0.001);
}

/** Stats (ms) of sorted samples. */
export function stats(samples) {
  const s = Float64Array.from(samples).sort();
  const n = s.length;
  const total = s.reduce((a, b) => a + b, 0);
  const pct = (p) => s[Math.min(n - 1, Math.floor((p / 100) * n))];
  return { iterations: n, p50: pct(50), p99: pct(99), min: s[0], max: s[n - 1], mean: total / n, perSec: (1000 * n) / total };
}

/** Times `fn` `iterations` times after `warmup` calls; returns stats in ms. */
export function time(fn, iterations, warmup) {
  for (let i = 0; i < warmup; i++) fn();
  const samples = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    fn();
    samples[i] = performance.now() - t0;
  }
  return stats(samples);
}

/** Iterations for a budget: at least `min`, at most `max`, about `budgetMs` of measuring. */
export function iterationsFor(fn, budgetMs = BUDGET_MS, min = 5, max = 2000) {
  const once = calibrate(fn);
  return Math.max(min, Math.min(max, Math.floor(budgetMs / once)));
}

/** Times `fn` within the budget: calibrate, warm up (a tenth, at most 50), measure. */
export function timeWithin(fn, budgetMs = BUDGET_MS, min = 5, max = 2000) {
  const n = iterationsFor(fn, budgetMs, min, max);
  return time(fn, n, Math.min(50, Math.ceil(n / 10)));
}

export const ms = (x) => (x == null || Number.isNaN(x) ? 'n/a' : x < 0.1 ? x.toFixed(4) : x < 10 ? x.toFixed(3) : x.toFixed(1));
export const kib = (b) => `${(b / 1024).toFixed(0)} KiB`;
export const failure = (err) => `error ${err?.code ?? ''} ${err?.message ?? err}`.trim();
