// The real Worker for the browser tests: the Worker suite's helper (tests/worker/server.mjs) starts
// `wrangler dev` like `make dev` (dev keys, the demo manifest published, local KV and Durable
// Objects in a fresh folder). The page also needs the package in www/pkg/, as scripts/dev.sh does.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, startWorker as startDevWorker } from '../worker/server.mjs';

export { ROOT };

/** The page loads the package the Worker runs; scripts/dev.sh copies it the same way. */
export function copyPackage() {
  fs.mkdirSync(path.join(ROOT, 'www/pkg'), { recursive: true });
  for (const f of ['edge_coupons.js', 'edge_coupons_bg.wasm']) {
    fs.copyFileSync(path.join(ROOT, 'pkg', f), path.join(ROOT, 'www/pkg', f));
  }
}

/** Starts the Worker; returns the helper's server ({ url, adminToken, stop, ... }). */
export async function startWorker() {
  copyPackage();
  return startDevWorker();
}
