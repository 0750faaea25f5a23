// Writes the grid's fixtures as files for the native benchmark (examples/bench_native.rs), so that
// native Rust and Node price exactly the same manifests and requests:
// target/bench/fixtures/manifest-{coupons}.json (payload, unsigned) and request-{lines}-{coupons}.json.
import fs from 'node:fs';
import path from 'node:path';
import { COUPONS, LINES, makeManifest, makeRequest } from './fixtures.mjs';
import { OUT_DIR } from './lib.mjs';

const dir = path.join(OUT_DIR, 'fixtures');
fs.mkdirSync(dir, { recursive: true });
for (const coupons of COUPONS) {
  fs.writeFileSync(path.join(dir, `manifest-${coupons}.json`), JSON.stringify(makeManifest(coupons)));
  for (const lines of LINES) {
    fs.writeFileSync(path.join(dir, `request-${lines}-${coupons}.json`), JSON.stringify(makeRequest(lines, coupons)));
  }
}
fs.writeFileSync(path.join(dir, 'grid.txt'), `${LINES.join(' ')}\n${COUPONS.join(' ')}\n`);
console.log(`fixtures: ${dir}`);
