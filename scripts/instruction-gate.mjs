// The deterministic cost gate of `make test` (issue 14): Wasm instructions counted exactly as
// `node bench/instructions.mjs` counts them (bench/instrument.mjs over pkg/edge_coupons_bg.wasm,
// an evaluate being the second call on a warm engine), and the default result's JSON size. Each
// count fails above its figure measured when it was last lowered plus 5% (lower it when the engine
// gets cheaper; a change that needs more says why in its commit); each ratio fails above issue
// 14's target. Loading 1,000 coupons is over its target (40 M): its gate only keeps it from growing.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { signJws, testJwks, testSigningKey } from '../tests/node/helpers.mjs';
import { makeRequest, workloadManifest } from '../bench/fixtures.mjs';
import { instrumentWasm } from '../bench/instrument.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Measured at the commit that set them (rustc 1.95, opt-level s; wasm-opt -O3 with one-caller
// inlining up to 100 bytes; small blocks from free lists in front of talc, refilled a chunk at a
// time; results handed over as one text and a list of words; an applied coupon lists line ids
// borrowed from the request; a manifest's short decimals read in a u64; a request of plain JS
// objects handed in flat, src/intake.rs).
const MEASURED = {
  evaluate200x100: 3_167_845,
  evaluate1000x100: 13_103_820,
  load1000: 53_546_412,
};
const within = (measured) => Math.round(measured * 1.05);
const RESULT_LIMIT = 40 * 1024; // bytes of JSON, default (compact) result of 200 x 100

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'instr-gate-'));
try {
  const wasm = path.join(dir, 'counted.wasm');
  fs.writeFileSync(wasm, instrumentWasm(fs.readFileSync(path.join(ROOT, 'pkg/edge_coupons_bg.wasm'))));
  const manifests = new Map();
  /** One fresh instance's counts for a workload: `load`, `first` and `second` evaluate. */
  const count = (lines, coupons, stacking) => {
    const key = `${coupons}-${stacking ?? ''}`;
    if (!manifests.has(key)) manifests.set(key, signJws(workloadManifest(coupons, stacking), testSigningKey()));
    const input = path.join(dir, 'input.json');
    fs.writeFileSync(input, JSON.stringify({ jws: manifests.get(key), jwks: testJwks(), req: makeRequest(lines, coupons) }));
    return JSON.parse(execFileSync(process.execPath, [path.join(ROOT, 'bench/instructions.mjs'), '--child', wasm, input], { encoding: 'utf8', maxBuffer: 1 << 26 }));
  };
  const at200x100 = count(200, 100);
  const at1000x100 = count(1000, 100);
  const at10x100 = count(10, 100);
  const at10x1000 = count(10, 1000);
  const priority = count(200, 14, 'priority');
  const bestDeal = count(200, 14, 'best_deal');
  const resultBytes = Number(execFileSync(process.execPath, ['--input-type=module', '-e', `
    import { loadPackage, signJws, testJwks, testSigningKey } from ${JSON.stringify(path.join(ROOT, 'tests/node/helpers.mjs'))};
    import { NOW, makeManifest, makeRequest } from ${JSON.stringify(path.join(ROOT, 'bench/fixtures.mjs'))};
    const mod = await loadPackage();
    const engine = mod.CouponEngine.fromSignedManifest(signJws(makeManifest(100), testSigningKey()), testJwks(), { now: NOW });
    process.stdout.write(String(JSON.stringify(engine.evaluate(makeRequest(200, 100))).length));
  `], { encoding: 'utf8' }));

  const ratio = (a, b) => Math.round((a / b) * 100) / 100;
  const gates = [
    ['instructions per evaluate, 200 lines x 100 coupons', at200x100.second, within(MEASURED.evaluate200x100), 'target 4,000,000'],
    ['instructions per evaluate, 1000 lines x 100 coupons', at1000x100.second, within(MEASURED.evaluate1000x100), 'target 20,000,000'],
    ['10 lines x 1000 coupons over 10 x 100 (instructions per evaluate)', ratio(at10x1000.second, at10x100.second), 10, 'no quadratic term in coupons'],
    ['best deal over priority, 200 lines, 12 candidates', ratio(bestDeal.second, priority.second), 3, 'target'],
    ['instructions to load the 1,000-coupon manifest', at10x1000.load, within(MEASURED.load1000), 'target 40,000,000, not met'],
    ['default result, 200 lines x 100 coupons, bytes of JSON', resultBytes, RESULT_LIMIT, 'target'],
  ];
  const show = (n) => n.toLocaleString('en-US');
  let failed = false;
  for (const [what, value, limit, why] of gates) {
    console.log(`${what}: ${show(value)} (gate ${show(limit)}; ${why})`);
    if (value > limit) {
      console.error(`error: cost gate: ${what} is ${show(value)}, over ${show(limit)}`);
      failed = true;
    }
  }
  process.exitCode = failed ? 1 : 0;
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
