// The deterministic cost gate of `make test` (issue 14): Wasm instructions per evaluate of the
// benchmark's 200-line x 100-coupon request, counted exactly as `node bench/instructions.mjs`
// counts them (bench/instrument.mjs over pkg/edge_coupons_bg.wasm, the second call on a warm
// engine). Fails above LIMIT, the figure measured when it was last lowered plus 5%; lower it
// when the engine gets cheaper. Also reports (and fails on) the default result's JSON size.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { signJws, testJwks, testSigningKey } from '../tests/node/helpers.mjs';
import { makeManifest, makeRequest } from '../bench/fixtures.mjs';
import { instrumentWasm } from '../bench/instrument.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MEASURED = 3_784_153; // 200 x 100, measured at the commit that set it (rustc 1.95, opt-level s; wasm-opt -O3 with one-caller inlining up to 100 bytes; small blocks from free lists in front of talc; results handed over as one text and a list of words; an applied coupon lists line ids borrowed from the request)
const LIMIT = Math.round(MEASURED * 1.05);
const RESULT_LIMIT = 40 * 1024; // bytes of JSON, default (compact) result of 200 x 100

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'instr-gate-'));
try {
  const wasm = path.join(dir, 'counted.wasm');
  fs.writeFileSync(wasm, instrumentWasm(fs.readFileSync(path.join(ROOT, 'pkg/edge_coupons_bg.wasm'))));
  const input = path.join(dir, 'input.json');
  fs.writeFileSync(input, JSON.stringify({ jws: signJws(makeManifest(100), testSigningKey()), jwks: testJwks(), req: makeRequest(200, 100) }));
  const child = execFileSync(process.execPath, [path.join(ROOT, 'bench/instructions.mjs'), '--child', wasm, input], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const { second } = JSON.parse(child);
  const resultBytes = Number(execFileSync(process.execPath, ['--input-type=module', '-e', `
    import { loadPackage, signJws, testJwks, testSigningKey } from ${JSON.stringify(path.join(ROOT, 'tests/node/helpers.mjs'))};
    import { NOW, makeManifest, makeRequest } from ${JSON.stringify(path.join(ROOT, 'bench/fixtures.mjs'))};
    const mod = await loadPackage();
    const engine = mod.CouponEngine.fromSignedManifest(signJws(makeManifest(100), testSigningKey()), testJwks(), { now: NOW });
    process.stdout.write(String(JSON.stringify(engine.evaluate(makeRequest(200, 100))).length));
  `], { encoding: 'utf8' }));
  console.log(`instructions per evaluate, 200 lines x 100 coupons: ${second.toLocaleString('en-US')} (gate ${LIMIT.toLocaleString('en-US')})`);
  console.log(`default result, 200 lines x 100 coupons: ${resultBytes.toLocaleString('en-US')} bytes of JSON (gate ${RESULT_LIMIT.toLocaleString('en-US')})`);
  let failed = false;
  if (second > LIMIT) {
    console.error(`error: instruction gate: ${second} instructions per evaluate, over ${LIMIT} (${MEASURED} measured + 5%)`);
    failed = true;
  }
  if (resultBytes > RESULT_LIMIT) {
    console.error(`error: result size gate: ${resultBytes} bytes, over ${RESULT_LIMIT}`);
    failed = true;
  }
  process.exitCode = failed ? 1 : 0;
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
