// Boundary cost: what crossing between JS and the Wasm costs for 1 KB, 10 KB, 64 KB and 1 MB carts.
// A request crosses as JSON text: JSON.stringify of the request in the skin, the string copied
// into linear memory (UTF-8), read by serde_json. A result crosses through the engine's handoff
// (src/handoff.rs, js/handoff.js): its strings as one text, its shape as words, built into
// objects in JS. Each part is timed on its own where JS can reach it; the core's parse is isolated by a request that carries one unknown top-level field,
// which the engine refuses right after parsing (so that call = stringify + copy in + parse + a
// small error). With bench/boundary/ built (scripts/bench.sh does it), the same cart shape also
// crosses through serde-wasm-bindgen (JS objects read field by field) versus serde_json over a JSON
// string, both ways, and out through the engine's handoff, in a separate Wasm. Writes target/bench/boundary.json.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { signJws, testJwks, testSigningKey } from '../tests/node/helpers.mjs';
import { NOW, USER, makeCart, makeManifest } from './fixtures.mjs';
import { BUDGET_MS, OUT_DIR, failure, loadPackage, ms, timeWithin, writeResult } from './lib.mjs';

const TARGETS = [['1 KB', 1024], ['10 KB', 10 * 1024], ['64 KB', 64 * 1024], ['1 MB', 1024 * 1024]];
const { CouponEngine } = await loadPackage();
const engine = CouponEngine.fromSignedManifest(signJws(makeManifest(1), testSigningKey()), testJwks(), {
  now: NOW, limits: { max_cart_lines: 100000 },
});

const request = (lines) => ({ cart: makeCart(lines), user: USER, codes: [], now: NOW });
function linesFor(bytes) { // smallest cart whose request JSON is at least `bytes`
  let lo = 1; let hi = 1;
  while (JSON.stringify(request(hi)).length < bytes) hi *= 2;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (JSON.stringify(request(mid)).length < bytes) lo = mid + 1; else hi = mid; }
  return lo;
}

// The optional serde-wasm-bindgen comparison module (bench/boundary/, built by scripts/bench.sh).
let serde = null;
const serdeDir = path.join(OUT_DIR, 'boundary-pkg');
if (fs.existsSync(path.join(serdeDir, 'boundary.js'))) {
  serde = await import(pathToFileURL(path.join(serdeDir, 'boundary.js')).href);
  serde.initSync({ module: fs.readFileSync(path.join(serdeDir, 'boundary_bg.wasm')) });
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const budget = Math.min(BUDGET_MS, 1500);
const tiny = { zzz: 1 };
const refuse = (r) => { try { engine.evaluate(r); } catch { /* expected: unknown field */ } };
const errorOnly = timeWithin(() => refuse(tiny), budget).p50;
const rows = [];
for (const [label, target] of TARGETS) {
  const lines = linesFor(target);
  const req = request(lines);
  const text = JSON.stringify(req);
  const row = { label, lines, bytes: text.length };
  try {
    const buf = new Uint8Array(text.length * 3);
    row.stringify = timeWithin(() => JSON.stringify(req), budget).p50;
    row.copyIn = timeWithin(() => enc.encodeInto(text, buf), budget).p50;
    const bad = { ...req, zzz: 1 };
    row.refused = timeWithin(() => refuse(bad), budget).p50;
    row.parse = Math.max(0, row.refused - row.stringify - row.copyIn - errorOnly);
    row.evaluate = timeWithin(() => engine.evaluate(req), budget, 3).p50;
    const resultText = JSON.stringify(engine.evaluate(req));
    const resultBytes = enc.encode(resultText);
    row.resultBytes = resultBytes.length;
    row.copyOut = timeWithin(() => dec.decode(resultBytes), budget).p50;
    row.resultParse = timeWithin(() => JSON.parse(resultText), budget).p50;
    row.boundaryShare = (row.stringify + row.copyIn + row.parse) / row.evaluate;
    if (serde) {
      row.serdeObjectsIn = timeWithin(() => serde.objects_in(req), budget).p50;
      row.serdeJsonIn = timeWithin(() => serde.json_in(JSON.stringify(req)), budget).p50;
      row.serdeObjectsOut = timeWithin(() => serde.objects_out(lines), budget).p50;
      row.serdeJsonOut = timeWithin(() => JSON.parse(serde.json_out(lines)), budget).p50;
      row.handoffOut = timeWithin(() => serde.handoff_out(lines), budget).p50;
    }
  } catch (err) {
    row.error = failure(err);
  }
  rows.push(row);
  console.log(`${label} (${lines} lines, ${text.length} B): ${Object.entries(row).filter(([, v]) => typeof v === 'number').map(([k, v]) => `${k} ${k.endsWith('ytes') || k === 'lines' ? v : ms(v)}`).join(', ')}`);
}

const columns = [
  { key: 'stringify', label: 'JSON.stringify ms' },
  { key: 'copyIn', label: 'UTF-8 copy in ms' },
  { key: 'parse', label: 'core parse ms (derived)' },
  { key: 'evaluate', label: 'whole evaluate ms' },
  { key: 'copyOut', label: 'UTF-8 copy of the result JSON ms' },
  { key: 'resultParse', label: 'result JSON.parse ms' },
  { key: 'boundaryShare', label: 'request share' },
];
if (serde) {
  columns.push(
    { key: 'serdeObjectsIn', label: 'serde-wasm-bindgen in ms' },
    { key: 'serdeJsonIn', label: 'stringify + serde_json in ms' },
    { key: 'serdeObjectsOut', label: 'serde-wasm-bindgen out ms' },
    { key: 'serdeJsonOut', label: 'serde_json out + JSON.parse ms' },
    { key: 'handoffOut', label: 'engine handoff out ms' },
  );
}
for (const r of rows) r.boundaryShare = r.boundaryShare == null ? null : Number(r.boundaryShare.toFixed(3));
const result = {
  description: [
    'A manifest with one coupon (the cart crossing dominates), carts of the fixture shape grown to each size, p50 per call',
    '(`bench/boundary.mjs`). "core parse" is derived: the time of a call refused right after parsing (an unknown top-level',
    `field) less JSON.stringify, the UTF-8 copy and the cost of refusing a tiny request (${ms(errorOnly)} ms). "request share" is`,
    'stringify + copy in + core parse over the whole evaluate. The result crosses through the engine\'s handoff (src/handoff.rs);',
    'the two result columns are what handing it over as JSON text would add (its UTF-8 decode and JSON.parse). "copy" times',
    'are TextEncoder / TextDecoder over the same bytes, which is what wasm-bindgen does to pass a string.',
    serde
      ? 'The serde columns come from bench/boundary/, a separate crate (serde derive, serde_json, serde-wasm-bindgen, and the engine\'s handoff) that reads the same cart shape into typed structs from JS objects or from JSON text, and writes a result of the same shape three ways; it measures the crossing only, not this engine.'
      : 'The serde-wasm-bindgen alternative (bench/boundary/) was not built in this run, so only the JSON path is measured.',
  ],
  errorOnlyMs: errorOnly,
  columns,
  rows: rows.map((r) => ({ ...r, bytes: r.bytes })),
  notes: [],
};
if (serde) {
  for (const r of rows) {
    if (r.serdeObjectsIn == null) continue;
    result.notes.push(`${r.label}: in, serde-wasm-bindgen objects ${ms(r.serdeObjectsIn)} ms vs JSON.stringify + serde_json ${ms(r.serdeJsonIn)} ms (${(r.serdeObjectsIn / r.serdeJsonIn).toFixed(2)}x); out, objects ${ms(r.serdeObjectsOut)} ms vs serde_json + JSON.parse ${ms(r.serdeJsonOut)} ms (${(r.serdeObjectsOut / r.serdeJsonOut).toFixed(2)}x) vs the engine's handoff ${ms(r.handoffOut)} ms (serde-wasm-bindgen takes ${(r.serdeObjectsOut / r.handoffOut).toFixed(2)}x as long).`);
  }
  result.notes.push('For the first two ratios, above 1 means JSON text is the faster crossing. Results leave through the handoff: serde-wasm-bindgen makes one call into JS per value, a TextDecoder call per string and an externref slot each, where the handoff decodes one text and builds the objects in one JS pass (src/handoff.rs).');
}
writeResult('boundary', result);
console.log(`results: ${path.join(OUT_DIR, 'boundary.json')}`);
