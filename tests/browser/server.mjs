// The real Worker for the browser tests: the Worker suite's helper (tests/worker/server.mjs) starts
// `wrangler dev` like `make dev` (dev keys, the demo manifest published, local KV and Durable
// Objects in a fresh folder). The page also needs the package in www/pkg/, as scripts/dev.sh does.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, startWorker as startDevWorker } from '../worker/server.mjs';
import { copyVendor } from '../../scripts/vendor.mjs';

export { ROOT };

/**
 * The page loads the package the Worker runs; scripts/dev.sh copies it the same way. A file already
 * up to date is left alone: www/ is the Worker's assets folder, and every write there makes each
 * `wrangler dev` running in this tree (another suite, `make dev`) reload while it serves requests.
 */
export function copyPackage() {
  fs.mkdirSync(path.join(ROOT, 'www/pkg'), { recursive: true });
  for (const f of ['edge_coupons.js', 'edge_coupons_handoff.js', 'edge_coupons_bg.wasm']) {
    const from = fs.readFileSync(path.join(ROOT, 'pkg', f));
    const to = path.join(ROOT, 'www/pkg', f);
    if (fs.existsSync(to) && from.equals(fs.readFileSync(to))) continue;
    // Written aside and renamed, so a Worker serving www/ meanwhile never reads half a file.
    const part = `${to}.${process.pid}.part`;
    fs.writeFileSync(part, from);
    fs.renameSync(part, to);
  }
}

/**
 * Starts the Worker (options as tests/worker/server.mjs takes them); returns the helper's server ({ url, adminToken, shopperKey, redeemToken, stop,
 * ... }): shopperKey is the private JWK whose public half is the Worker's SHOPPER_JWKS (the shop's
 * backend signs shopper tokens with it), redeemToken the shop's server credential (REDEEM_TOKEN).
 */
export async function startWorker(options) {
  copyPackage();
  copyVendor(); // the console's chart library (www/vendor/), as scripts/dev.sh copies it
  return startDevWorker(options);
}
