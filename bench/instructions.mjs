// Deterministic cost: Wasm instructions executed per evaluate, counted by an instrumented copy of
// pkg/edge_coupons_bg.wasm (bench/instrument.mjs) run in fresh Node processes through the package's
// own JS glue, and the peak linear memory of a fresh instance. Writes target/bench/instructions.json.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { signJws, testJwks, testSigningKey } from '../tests/node/helpers.mjs';
import { NOW, makeRequest, workloadManifest } from './fixtures.mjs';
import { instrumentWasm } from './instrument.mjs';
import { OUT_DIR, PKG_DIR, writeResult } from './lib.mjs';

// [lines, coupons, stacking?]: 14 coupons give 12 candidates on these carts (5 typed codes, 7
// automatic), best deal's exact limit; at most 3 codes per cart, so sets differ. Same cart both ways.
// 10 x 1000 with 3 codes per cart prices every candidate alone first (the code limit makes it).
const WORKLOADS = [[1, 100], [10, 100], [50, 100], [200, 100], [1000, 100], [200, 1], [200, 10], [200, 1000], [10, 1000],
  [200, 14, 'priority'], [200, 14, 'best_deal'], [10, 1000, 'priority']];

if (process.argv[2] === '--child') {
  const [, , , wasmFile, inputFile] = process.argv;
  const { jws, jwks, req } = JSON.parse(fs.readFileSync(inputFile, 'utf8'));
  const mod = await import(pathToFileURL(path.join(PKG_DIR, 'edge_coupons.js')).href);
  const ex = mod.initSync({ module: fs.readFileSync(wasmFile) });
  const count = () => (ex.__icount ? ex.__icount.value : 0n);
  const mem = () => ex.memory.buffer.byteLength;
  const m0 = mem();
  const c0 = count();
  const engine = mod.CouponEngine.fromSignedManifest(jws, jwks, { now: NOW });
  const c1 = count(); const m1 = mem();
  const result = engine.evaluate(req);
  const c2 = count(); const m2 = mem();
  engine.evaluate(req);
  const c3 = count();
  process.stdout.write(JSON.stringify({
    load: Number(c1 - c0), first: Number(c2 - c1), second: Number(c3 - c2),
    memInitial: m0, memAfterLoad: m1, memAfterEvaluate: m2, discount: result.totals.discount,
  }));
  process.exit(0);
}

fs.mkdirSync(OUT_DIR, { recursive: true });
const original = fs.readFileSync(path.join(PKG_DIR, 'edge_coupons_bg.wasm'));
const instrumented = instrumentWasm(original);
if (!WebAssembly.validate(instrumented)) throw new Error('instrumented module does not validate');
const wasmFile = path.join(OUT_DIR, 'edge_coupons_counted.wasm');
fs.writeFileSync(wasmFile, instrumented);
const self = fileURLToPath(import.meta.url);
const rows = [];
const manifests = new Map();
for (const [lines, coupons, stacking] of WORKLOADS) {
  const key = `${coupons}${stacking ? `-${stacking}` : ''}`;
  if (!manifests.has(key)) manifests.set(key, signJws(workloadManifest(coupons, stacking), testSigningKey()));
  const input = path.join(OUT_DIR, `instr-input-${lines}-${key}.json`);
  fs.writeFileSync(input, JSON.stringify({ jws: manifests.get(key), jwks: testJwks(), req: makeRequest(lines, coupons) }));
  const run = (file) => JSON.parse(execFileSync(process.execPath, [self, '--child', file, input], { encoding: 'utf8', maxBuffer: 1 << 26 }));
  const counted = run(wasmFile);
  const plain = run(path.join(PKG_DIR, 'edge_coupons_bg.wasm'));
  if (counted.discount !== plain.discount) throw new Error(`instrumented result differs: ${counted.discount} vs ${plain.discount}`);
  rows.push({
    label: `evaluate, ${lines} lines x ${coupons} coupons${stacking ? ` (${stacking}, 3 codes per cart)` : ''}`, lines, coupons, stacking,
    instructions: counted.second, firstCall: counted.first, loadInstructions: counted.load,
    peakMemoryBytes: plain.memAfterEvaluate, memoryAfterLoad: plain.memAfterLoad, memoryInitial: plain.memInitial,
  });
  console.log(`${lines} x ${coupons}${stacking ? ` ${stacking}` : ''}: ${counted.second.toLocaleString('en-US')} instructions per evaluate (first ${counted.first.toLocaleString('en-US')}), load ${counted.load.toLocaleString('en-US')}, memory ${plain.memAfterEvaluate} B`);
}
const head = rows.find((r) => r.lines === 200 && r.coupons === 100 && !r.stacking);
const result = {
  perEvaluation: head?.instructions,
  peakMemoryBytes: head?.peakMemoryBytes,
  description: [
    'Counted by `bench/instrument.mjs`: a copy of the shipped `pkg/edge_coupons_bg.wasm` with an exported i64 counter raised at',
    'the start of every straight-line run of code by that run\'s instruction count (as wasmtime fuel: `nop`, `drop`, `block`,',
    '`loop`, `else`, `end` count 0, everything else 1). It runs through the package\'s own JS glue in a fresh Node process per',
    'workload; the count covers everything inside the Wasm for one `evaluate` (reading the request JSON, evaluating, writing',
    'the result JSON), not the JS side (JSON.stringify / JSON.parse). The figure is the second call on the same engine; the',
    'first is also recorded. Same answer on every run and machine for the same code. The instrumented module gives the',
    'same discount as the shipped one (checked per workload). Peak linear memory: the uninstrumented module\'s',
    '`memory.buffer.byteLength` after loading the manifest and one evaluate in a fresh instance (linear memory only grows).',
  ],
  rows: rows.map((r) => ({ ...r, label: `${r.label} (load: ${r.loadInstructions.toLocaleString('en-US')})` })),
  notes: [
    'Shopify Functions allow 11 million instructions for a 200-line cart; issue 7 aimed at 1.1 million, issue 14 at 4 million (gated in make test).',
    'Shopify counts with its own runner (wasmtime fuel over a module built for WASI); the counting rule here is wasmtime\'s, but the module, the skin and the request reading differ, so the comparison is indicative.',
  ],
};
console.log(`results: ${writeResult('instructions', result)}`);
