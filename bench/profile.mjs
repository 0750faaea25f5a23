// Where the Wasm instructions of one evaluate (or of loading one manifest) go, function by function:
// each function's own instructions, not its callees', counted as bench/instructions.mjs counts the
// total (bench/instrument.mjs with a counter per function), on the benchmark's fixtures. `make
// profile` builds the named module (scripts/profile.sh) and runs this:
//
//   node bench/profile.mjs NAMED.wasm GLUE_DIR [LINES COUPONS] [--load] [--top N]
//
// LINES x COUPONS defaults to 200 x 100; the evaluate counted is the second on a warm engine (as
// the gate counts it); --load counts loading the COUPONS manifest instead. Prints the total and
// the top N functions (default 40). Never asserts.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { signJws, testJwks, testSigningKey } from '../tests/node/helpers.mjs';
import { NOW, makeManifest, makeRequest } from './fixtures.mjs';
import { functionNames, instrumentWasm } from './instrument.mjs';

const args = process.argv.slice(2);
const load = args.includes('--load');
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args[topAt + 1]) : 40;
const unknown = args.filter((a) => a.startsWith('--') && a !== '--load' && a !== '--top');
const [wasmFile, glueDir, lines = '200', coupons = '100'] = args.filter((a, i) => !a.startsWith('--') && (topAt < 0 || i !== topAt + 1));
if (!wasmFile || !glueDir || unknown.length || !(Number.isInteger(top) && top > 0) || !(Number(lines) > 0 && Number(coupons) > 0)) {
  console.error('usage: node bench/profile.mjs NAMED.wasm GLUE_DIR [LINES COUPONS] [--load] [--top N]');
  process.exit(2);
}

const bytes = fs.readFileSync(wasmFile);
const names = functionNames(bytes);
if (names.size === 0) console.error('profile: the module has no name section; functions are shown by index');
const mod = await import(pathToFileURL(path.resolve(glueDir, 'edge_coupons.js')).href);
const ex = mod.initSync({ module: instrumentWasm(bytes, { perFunction: true }) });
const counters = Object.keys(ex).filter((k) => k.startsWith('__icount_f')).map((k) => [Number(k.slice(10)), ex[k]]);
const snapshot = () => counters.map(([, g]) => g.value);

const jws = signJws(makeManifest(Number(coupons)), testSigningKey());
const before = snapshot();
const engine = mod.CouponEngine.fromSignedManifest(jws, testJwks(), { now: NOW });
let after = snapshot();
let from = before;
if (!load) {
  const req = makeRequest(Number(lines), Number(coupons));
  engine.evaluate(req);
  from = snapshot();
  engine.evaluate(req);
  after = snapshot();
}

const rows = counters.map(([index], i) => [after[i] - from[i], index]).filter(([n]) => n > 0n).sort((a, b) => (b[0] > a[0]) - (b[0] < a[0]));
const total = rows.reduce((sum, [n]) => sum + n, 0n);
const name = (index) => (names.get(index) ?? `function ${index}`).replace(/::h[0-9a-f]{16}$/, '');
console.log(`${load ? `loading ${coupons} coupons` : `one evaluate, ${lines} lines x ${coupons} coupons`}: ${total.toLocaleString('en-US')} Wasm instructions in ${rows.length} functions`);
for (const [n, index] of rows.slice(0, top)) {
  console.log(`${n.toLocaleString('en-US').padStart(12)} ${(Number((n * 1000n) / total) / 10).toFixed(1).padStart(5)}%  ${name(index)}`);
}
