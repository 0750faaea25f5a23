// Starts the real Worker in workerd (`wrangler dev`) on a free port with its own persisted state,
// waits until it answers, and stops it (the whole process group). Shared with tests/browser.
//
//   const server = await startWorker();   // like `make dev`: dev keys, the demo manifest published
//   const server = await startWorker({ vars: { MANIFEST_JWKS: jwks, ADMIN_TOKEN: 't' } });
//   await fetch(`${server.url}/jwks`);
//   await server.restart();   // same port, same persisted KV and Durable Objects
//   await server.stop();
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { generateKeyPair, signJws } from '../node/helpers.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WRANGLER = path.join(ROOT, 'node_modules/.bin/wrangler');
const READY_TIMEOUT_MS = 60_000;

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const DEV = path.join(ROOT, '.dev');
const rfc3339 = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The local dev key pair (.dev/, as scripts/dev.sh makes it), created when missing. */
export function devKeys() {
  const keyFile = path.join(DEV, 'dev-signing-key.jwk.json');
  const jwksFile = path.join(DEV, 'dev-jwks.json');
  if (!fs.existsSync(keyFile) || !fs.existsSync(jwksFile)) {
    fs.mkdirSync(DEV, { recursive: true });
    const { privateJwk, publicJwk } = generateKeyPair('dev-key-1');
    fs.writeFileSync(keyFile, `${JSON.stringify(privateJwk, null, 2)}\n`, { mode: 0o600 });
    fs.writeFileSync(jwksFile, `${JSON.stringify({ keys: [publicJwk] }, null, 2)}\n`);
  }
  return { key: JSON.parse(fs.readFileSync(keyFile, 'utf8')), jwks: JSON.parse(fs.readFileSync(jwksFile, 'utf8')) };
}

/** The demo manifest signed with the dev key, valid from an hour ago for 30 days. */
export function signedDemo(key) {
  const m = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs/examples/demo-manifest.json'), 'utf8'));
  const now = Date.now();
  return signJws({ ...m, issued_at: rfc3339(now - 3600e3), expires_at: rfc3339(now + 30 * 86400e3) }, key);
}

/**
 * vars: Worker vars and secrets (strings, or objects serialised as JSON), passed with --var.
 * Without MANIFEST_JWKS in vars it runs like `make dev`: the dev keys, a random ADMIN_TOKEN, and the
 * demo manifest published at start (server.adminToken holds the token).
 * persistTo: where KV and Durable Objects persist (default: a fresh temp dir, removed by stop()).
 */
export async function startWorker({ vars: given = {}, persistTo, port, log = process.env.WORKER_LOG === '1' } = {}) {
  const demo = given.MANIFEST_JWKS === undefined;
  const keys = demo ? devKeys() : null;
  const vars = demo
    ? { MANIFEST_JWKS: keys.jwks, ADMIN_TOKEN: crypto.randomBytes(24).toString('base64url'), ...given }
    : given;
  const ownDir = !persistTo;
  // Memory-backed /dev/shm when there is one: state still persists across restarts of the server
  // (what the tests need), without waiting on the disk for every SQLite commit.
  const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const dir = persistTo ?? fs.mkdtempSync(path.join(base, 'edge-coupons-worker-'));
  const server = { dir, port: port ?? (await freePort()), child: null, output: '' };
  server.url = `http://127.0.0.1:${server.port}`;
  server.adminToken = vars.ADMIN_TOKEN;

  const launch = async () => {
    const args = ['dev', '--ip', '127.0.0.1', '--port', String(server.port), '--persist-to', dir,
      '--inspector-port', String(await freePort()), '--log-level', 'warn'];
    for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${typeof v === 'string' ? v : JSON.stringify(v)}`);
    server.output = '';
    const child = spawn(WRANGLER, args, {
      cwd: ROOT,
      detached: true, // its own process group, so stop() ends workerd too
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1', CI: '1' },
    });
    const keep = (chunk) => {
      server.output = (server.output + chunk).slice(-20_000);
      if (log) process.stderr.write(chunk);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    server.child = child;
    running.add(child.pid);
    child.once('exit', () => running.delete(child.pid));
    await waitReady(server);
  };

  server.stop = async ({ keepState = false } = {}) => {
    await kill(server.child);
    server.child = null;
    if (ownDir && !keepState) fs.rmSync(dir, { recursive: true, force: true });
  };
  server.restart = async () => {
    await kill(server.child);
    await launch();
  };
  await launch();
  if (demo) {
    const res = await fetch(`${server.url}/admin/manifest`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/jose' },
      body: signedDemo(keys.key),
    });
    if (res.status !== 201) {
      await server.stop();
      throw new Error(`publishing the demo manifest failed: ${res.status} ${await res.text()}`);
    }
  }
  return server;
}

// Process groups still running when this process exits (a test runner timeout, Ctrl-C) are ended.
const running = new Set();
process.on('exit', () => {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

async function waitReady(server) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null) throw new Error(`wrangler dev exited (${server.child.exitCode}):\n${server.output}`);
    if (/Build failed|\[ERROR\]/.test(server.output)) {
      await kill(server.child);
      throw new Error(`wrangler dev could not build the Worker:\n${server.output}`);
    }
    try {
      const res = await fetch(`${server.url}/jwks`);
      await res.arrayBuffer();
      if (res.status < 500 || res.status === 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  await kill(server.child);
  throw new Error(`wrangler dev did not answer within ${READY_TIMEOUT_MS} ms:\n${server.output}`);
}

async function kill(child) {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 5000);
  await exited;
  clearTimeout(timer);
}
