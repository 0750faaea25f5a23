// Starts the real Worker in workerd (`wrangler dev`) on a free port with its own persisted state,
// waits until it answers, and stops it (the whole process group). Shared with tests/browser.
//
//   const server = await startWorker();   // like `make dev`: dev keys, the demo manifest published
//   const server = await startWorker({ vars: { MANIFEST_JWKS: jwks, ADMIN_TOKEN: 't' } });
//   const server = await startWorker({ config: 'tests/worker/vectors.wrangler.toml' });
//   await fetch(`${server.url}/jwks`);
//   await server.restart();   // same port, same persisted KV and Durable Objects
//   await server.stop();
//
// Nothing here can hang a test run: every fetch has a timeout, a start that fails is retried once
// (then the error says both reasons), and stopping ends the whole process group (wrangler, workerd,
// esbuild), with SIGKILL when it has not gone within a few seconds of SIGTERM.
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
// A fresh 2-core CI machine builds the Worker and starts workerd in a few seconds; a minute is slack.
const READY_TIMEOUT_MS = Number(process.env.WORKER_READY_TIMEOUT_MS ?? 60_000);
const PROBE_TIMEOUT_MS = 2_000; // one readiness probe
const PUBLISH_TIMEOUT_MS = 20_000; // the demo manifest (and profile) at start
const KILL_AFTER_MS = 3_000; // SIGTERM, then SIGKILL for whatever of the group is left
const GONE_WITHIN_MS = 5_000; // after SIGKILL: stop waiting (and say so) rather than hang

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
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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
 * The demo shop's signed-in user (www/shop.json) as the Worker's stored profile: the Worker prices
 * with stored profiles only (docs/worker.md, trusted user context), as scripts/dev.sh stores it.
 */
export function demoUser() {
  const shop = JSON.parse(fs.readFileSync(path.join(ROOT, 'www/shop.json'), 'utf8'));
  const { id, properties, segments, events } = shop.user.context;
  return { id, profile: { ...(properties ? { properties } : {}), ...(segments ? { segments } : {}), ...(events ? { events } : {}) } };
}

/**
 * vars: Worker vars and secrets (strings, or objects serialised as JSON), passed with --var.
 * Without MANIFEST_JWKS in vars (and without `config`) it runs like `make dev`: the dev keys, a
 * random ADMIN_TOKEN, the demo manifest published and the demo user's profile stored at start
 * (server.adminToken holds the token).
 * config: another wrangler.toml (relative to the repo root), e.g. a test-only Worker.
 * persistTo: where KV and Durable Objects persist (default: a fresh temp dir, removed by stop()).
 * manifestSigningKey: true passes the committed test signing key (tests/keys) as the Worker's
 * MANIFEST_SIGNING_KEY, so the console's POST /admin/manifest/sign works; only tests that ask get it.
 */
export async function startWorker(options = {}) {
  try {
    return await startOnce(options);
  } catch (first) {
    // wrangler restarts when files it watches change (others work in this tree, pkg/ is rebuilt),
    // and a loaded 2-core machine can be slow to bring workerd up: one more try on a fresh port.
    process.stderr.write(`# starting the Worker failed (${summary(first)}); trying once more\n`);
    try {
      return await startOnce(options);
    } catch (second) {
      throw new Error(`the Worker did not start, twice.\nfirst: ${first.message}\nsecond: ${second.message}`);
    }
  }
}

async function startOnce({ vars: given = {}, config, persistTo, port, manifestSigningKey = false, log = process.env.WORKER_LOG === '1' } = {}) {
  const demo = given.MANIFEST_JWKS === undefined && !config;
  const keys = demo ? devKeys() : null;
  // The shop's side of identity (docs/worker.md, "Who may do what"): a key its backend signs shopper
  // tokens with, and its server credential. Fresh for every server; a test may set its own.
  const shopper = generateKeyPair('shopper-test-1');
  const vars = {
    SHOPPER_JWKS: { keys: [shopper.publicJwk] },
    REDEEM_TOKEN: crypto.randomBytes(24).toString('base64url'),
    ...(demo ? { MANIFEST_JWKS: keys.jwks, ADMIN_TOKEN: crypto.randomBytes(24).toString('base64url') } : {}),
    ...(manifestSigningKey ? { MANIFEST_SIGNING_KEY: JSON.parse(fs.readFileSync(path.join(ROOT, 'tests/keys/test-signing-key.jwk.json'), 'utf8')) } : {}),
    ...given,
  };
  const ownDir = !persistTo;
  // Memory-backed /dev/shm when there is one: state still persists across restarts of the server
  // (what the tests need), without waiting on the disk for every SQLite commit.
  const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const dir = persistTo ?? fs.mkdtempSync(path.join(base, 'edge-coupons-worker-'));
  const server = { dir, port: port ?? (await freePort()), child: null, output: '' };
  server.url = `http://127.0.0.1:${server.port}`;
  server.adminToken = vars.ADMIN_TOKEN;
  server.redeemToken = vars.REDEEM_TOKEN;
  server.shopperKey = shopper.privateJwk; // signs shopper tokens this server trusts

  const launch = async () => {
    const args = ['dev', '--ip', '127.0.0.1', '--port', String(server.port), '--persist-to', dir,
      '--inspector-port', String(await freePort()), '--log-level', 'warn'];
    if (config) args.push('--config', path.resolve(ROOT, config));
    for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${typeof v === 'string' ? v : JSON.stringify(v)}`);
    server.output = '';
    const child = spawn(WRANGLER, args, {
      cwd: ROOT,
      detached: true, // its own process group, so stop() ends workerd and esbuild too
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1', FORCE_COLOR: '0', CI: '1' },
    });
    const keep = (chunk) => {
      server.output = (server.output + String(chunk).replace(ANSI, '')).slice(-20_000);
      if (log) process.stderr.write(chunk);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => keep(`\nspawn error: ${err.message}\n`));
    server.child = child;
    running.add(child.pid);
    try {
      await waitReady(server);
    } catch (err) {
      await killGroup(child);
      throw err;
    }
  };
  const cleanup = () => {
    if (ownDir) fs.rmSync(dir, { recursive: true, force: true });
  };

  server.stop = async ({ keepState = false } = {}) => {
    await killGroup(server.child);
    server.child = null;
    if (!keepState) cleanup();
  };
  server.restart = async () => {
    await killGroup(server.child);
    try {
      await launch();
    } catch (first) {
      process.stderr.write(`# restarting the Worker failed (${summary(first)}); trying once more\n`);
      await launch();
    }
  };

  try {
    await launch();
    if (demo) {
      await adminFetch(server, 'PUT', '/admin/manifest', signedDemo(keys.key), 'application/jose', 201, 'publishing the demo manifest');
      const user = demoUser();
      await adminFetch(server, 'PUT', `/admin/users/${encodeURIComponent(user.id)}`, JSON.stringify(user.profile),
        'application/json', 200, 'storing the demo user profile');
    }
  } catch (err) {
    await killGroup(server.child);
    cleanup();
    throw err;
  }
  return server;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/** One line for a failed start: its first line and wrangler's first error line. */
function summary(err) {
  const lines = err.message.split('\n');
  const error = lines.find((l) => /\[ERROR\]/.test(l));
  return error && error !== lines[0] ? `${lines[0]} ${error.trim()}` : lines[0];
}

async function adminFetch(server, method, pathname, body, type, want, what) {
  let res;
  let text;
  try {
    res = await fetch(`${server.url}${pathname}`, {
      method, body, headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': type },
      signal: AbortSignal.timeout(PUBLISH_TIMEOUT_MS),
    });
    text = await res.text();
  } catch (err) {
    throw new Error(`${what} failed: ${err.name === 'TimeoutError' ? `no answer within ${PUBLISH_TIMEOUT_MS} ms` : err.message}\n${server.output}`);
  }
  if (res.status !== want) throw new Error(`${what} failed: ${res.status} ${text}`);
}

// Process groups still running when this process ends (a test runner timeout, Ctrl-C) are ended.
const running = new Set();
const killAllNow = () => {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
};
process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    killAllNow();
    // The default action (end this process), unless someone else (a test runner) handles it.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}

async function waitReady(server) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const { child } = server;
  while (Date.now() < deadline) {
    if (exited(child)) throw new Error(`wrangler dev exited (${child.exitCode ?? child.signalCode}):\n${server.output}`);
    if (/Build failed|\[ERROR\]/.test(server.output)) throw new Error(`wrangler dev reported an error while starting:\n${server.output}`);
    try {
      const res = await fetch(`${server.url}/jwks`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      const text = await res.text();
      // Any answer of the Worker's own; wrangler's proxy answers 503 in plain text while it reloads.
      if (!(res.status === 503 && !text.startsWith('{'))) return;
    } catch {
      // not listening yet, or the probe timed out
    }
    await sleep(150);
  }
  throw new Error(`wrangler dev did not answer within ${READY_TIMEOUT_MS} ms:\n${server.output}`);
}

const exited = (child) => child.exitCode !== null || child.signalCode !== null;

/**
 * The live processes of group `pgid`, `{ pid, name }`, from /proc (Linux only). Zombies do not
 * count: workerd's children are reparented to a PID 1 that may never reap them.
 */
export function groupMembers(pgid) {
  const out = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') out.push({ pid: Number(entry), name });
  }
  return out;
}

/** Whether any process of group `pgid` is still alive (elsewhere than Linux, any member counts). */
function groupAlive(pgid) {
  if (process.platform === 'linux') return groupMembers(pgid).length > 0;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

const signalGroup = (pgid, signal) => {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone
  }
};

async function untilGone(child, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (exited(child) && !groupAlive(child.pid)) return true;
    await sleep(50);
  }
  return false;
}

/** Ends the whole process group of `child`: SIGTERM, then SIGKILL after KILL_AFTER_MS. Never hangs. */
export async function killGroup(child) {
  if (!child) return;
  const pgid = child.pid;
  try {
    if (!exited(child) || groupAlive(pgid)) {
      signalGroup(pgid, 'SIGTERM');
      if (!(await untilGone(child, KILL_AFTER_MS))) {
        signalGroup(pgid, 'SIGKILL');
        if (!(await untilGone(child, GONE_WITHIN_MS))) {
          process.stderr.write(`# process group ${pgid} (wrangler dev) still there ${GONE_WITHIN_MS} ms after SIGKILL\n`);
        }
      }
    }
  } finally {
    running.delete(pgid);
    child.stdout?.destroy();
    child.stderr?.destroy();
  }
}
