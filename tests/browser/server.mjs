// Starts the real Worker (`wrangler dev`, workerd with local KV and Durable Objects) for the browser
// tests, the way `make dev` does, on a free port with its own storage folder.
//
// Kept minimal on purpose: tests/worker/server.mjs (the Worker suite's helper) replaces it once it
// exists; `startWorker` prefers that helper when it is there.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { signJws, testJwks } from '../node/helpers.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const freePort = () =>
  new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });

/** The page loads the package the Worker runs; scripts/dev.sh copies it the same way. */
function copyPackage() {
  fs.mkdirSync(path.join(ROOT, 'www/pkg'), { recursive: true });
  for (const f of ['edge_coupons.js', 'edge_coupons_bg.wasm']) {
    fs.copyFileSync(path.join(ROOT, 'pkg', f), path.join(ROOT, 'www/pkg', f));
  }
}

/**
 * The demo manifest (docs/examples/demo-manifest.json), valid from now for 30 days, signed with the
 * test-only key (tests/keys/); the Worker is given the matching JWKS. The same steps as
 * scripts/dev.sh, without touching .dev/ (a `make dev` may be running in this tree).
 */
function signedDemoManifest() {
  const payload = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs/examples/demo-manifest.json'), 'utf8'));
  const now = Date.now();
  const rfc3339 = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  payload.issued_at = rfc3339(now);
  payload.expires_at = rfc3339(now + 30 * 86400e3);
  return { jws: signJws(payload), jwks: testJwks(), expiresAt: payload.expires_at };
}

async function waitUntilUp(url, child, logs, ms = 60_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${logs.join('')}`);
    try {
      const res = await fetch(`${url}/jwks`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`wrangler dev did not answer within ${ms} ms:\n${logs.join('')}`);
}

/** Starts `wrangler dev` and publishes the demo manifest; returns { url, adminToken, stop, logs }. */
async function startOwnWorker() {
  copyPackage();
  const manifest = signedDemoManifest();
  const adminToken = crypto.randomBytes(24).toString('base64url');
  const port = await freePort();
  const persist = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-coupons-browser-'));
  const logs = [];
  const child = spawn(
    'npx',
    [
      'wrangler', 'dev', '--ip', '127.0.0.1', '--port', String(port), '--persist-to', persist,
      '--var', `MANIFEST_JWKS:${JSON.stringify(manifest.jwks)}`,
      '--var', `ADMIN_TOKEN:${adminToken}`,
      '--var', `CODE_MAC_KEY:${crypto.randomBytes(32).toString('base64url')}`,
    ],
    {
      cwd: ROOT,
      detached: true, // its own process group, so stop() ends wrangler and workerd together
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', BROWSER: 'none' },
    },
  );
  child.stdout.on('data', (d) => logs.push(d.toString()));
  child.stderr.on('data', (d) => logs.push(d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    fs.rmSync(persist, { recursive: true, force: true });
  };
  try {
    await waitUntilUp(url, child, logs);
    const res = await fetch(`${url}/admin/manifest`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/jose' },
      body: manifest.jws,
    });
    if (res.status !== 201) throw new Error(`publishing the demo manifest: HTTP ${res.status} ${await res.text()}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, adminToken, manifestExpiresAt: manifest.expiresAt, stop, logs };
}

/** The shared helper when the Worker suite provides one, else the minimal starter above. */
export async function startWorker() {
  const shared = path.join(ROOT, 'tests/worker/server.mjs');
  if (fs.existsSync(shared)) {
    const mod = await import(pathToFileURL(shared).href);
    if (typeof mod.startWorker === 'function') {
      copyPackage();
      return mod.startWorker();
    }
  }
  return startOwnWorker();
}
