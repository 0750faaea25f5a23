// Plays every tests/vectors/*.json inside headless Chromium against the package in pkg/ (CONTRACT.md
// section 6: the same results in native Rust, Node, the Worker and the browser). Node signs each
// manifest with the test key (tests/node/helpers.mjs), one page runs all the vectors in a few
// page.evaluate batches, and Node compares every outcome with the shared `assertSubset`, exactly as
// tests/node/vectors.test.mjs does. A vector that cannot be read, or names an unknown op, fails;
// nothing is skipped.
//
// The page is a blank one served by a tiny node:http server with the two package files: no Worker
// (nor its test helper), so this suite takes about a second and nothing else running in the tree
// can disturb it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { PKG_DIR, VECTORS_DIR, assertSubset, signJws, testJwks, testSigningKey } from '../node/helpers.mjs';
import { launchChromium } from './chromium.mjs';

const OPS = new Set(['load', 'evaluate', 'tray', 'checkCode']);
const BATCH = 100; // vectors per page.evaluate: a few round trips, each well under a megabyte
const files = fs.existsSync(VECTORS_DIR)
  ? fs.readdirSync(VECTORS_DIR).filter((f) => f.endsWith('.json')).sort()
  : [];

/** The same checks as tests/node/vectors.test.mjs: a vector is an object with one op and one expectation. */
function readVector(file) {
  const text = fs.readFileSync(path.join(VECTORS_DIR, file), 'utf8');
  let v;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON: ${e.message}`);
  }
  assert.ok(v && typeof v === 'object' && !Array.isArray(v), `${file}: a vector is a JSON object`);
  assert.ok(OPS.has(v.op), `${file}: unknown op ${JSON.stringify(v.op)} (known: ${[...OPS].join(', ')})`);
  assert.ok('manifest' in v, `${file}: no manifest`);
  const e = v.expect;
  assert.ok(e && typeof e === 'object', `${file}: no expect`);
  const keys = Object.keys(e);
  assert.ok(
    keys.length === 1 && (keys[0] === 'result' || keys[0] === 'error'),
    `${file}: expect must hold exactly one of "result" or "error", got ${JSON.stringify(keys)}`,
  );
  if ('error' in e) assert.equal(typeof e.error, 'string', `${file}: expect.error is an error code string`);
  return v;
}

/**
 * Runs in the page: loads each signed manifest and plays its op, as `play` in
 * tests/node/vectors.test.mjs does. Returns, per vector, { result } or { threw } with what was thrown;
 * the comparison is Node's.
 */
function playInPage(jobs) {
  const { CouponEngine } = window.edgeCoupons;
  const withNow = (ctx, now) => (ctx?.now === undefined && now !== undefined ? { ...ctx, now } : ctx);
  const play = ({ jws, jwks, now, limits, op, input = {} }) => {
    const opts = {};
    if (now !== undefined) opts.now = now;
    if (limits !== undefined) opts.limits = limits;
    const engine = CouponEngine.fromSignedManifest(jws, jwks, opts);
    try {
      switch (op) {
        case 'load':
          return { manifestId: engine.manifestId, manifest_id: engine.manifestId };
        case 'evaluate':
          return engine.evaluate(withNow(input, now));
        case 'tray':
          return engine.tray(withNow(input, now));
        case 'checkCode':
          return engine.checkCode(input.code, withNow(input.user ?? {}, now));
      }
      throw new Error(`unreachable op ${op}`);
    } finally {
      engine.free();
    }
  };
  return jobs.map((job) => {
    try {
      return { result: play(job) };
    } catch (err) {
      return { threw: { isError: err instanceof Error, code: err?.code, message: err?.message, text: String(err) } };
    }
  });
}

// Only what the page needs: itself and the package, from pkg/ as built (not a copy).
const PAGE = `<!doctype html><meta charset="utf-8"><title>edge-coupons vectors</title>
<script type="module">
import init, { CouponEngine } from '/pkg/edge_coupons.js';
await init();
window.edgeCoupons = { CouponEngine };
</script>`;
const TYPES = { '.js': 'text/javascript', '.wasm': 'application/wasm' };

let server;
let browser;
const outcomes = new Map(); // file -> { vector } | { readError }
const batchTimes = [];

before(async () => {
  for (const file of files) {
    try {
      const v = readVector(file);
      outcomes.set(file, { vector: v, job: { jws: signJws(v.manifest, testSigningKey()), now: v.now, limits: v.limits, op: v.op, input: v.input } });
    } catch (err) {
      outcomes.set(file, { readError: err });
    }
  }

  server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url, 'http://localhost');
    if (pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
      return;
    }
    const name = pathname.startsWith('/pkg/') ? pathname.slice(5) : '';
    if (!['edge_coupons.js', 'edge_coupons_bg.wasm'].includes(name)) {
      res.writeHead(404).end();
      return;
    }
    fs.readFile(path.join(PKG_DIR, name), (err, body) => {
      if (err) res.writeHead(500, { 'content-type': 'text/plain' }).end(`no ${name} in pkg/ (run 'make pkg'): ${err.message}`);
      else res.writeHead(200, { 'content-type': TYPES[path.extname(name)], 'cache-control': 'no-store' }).end(body);
    });
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));

  browser = await launchChromium();
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.waitForFunction(() => window.edgeCoupons, null, { timeout: 10_000 }).catch(() => {
    throw new Error(`the package did not load in the page: ${errors.join('; ') || 'no error reported'}`);
  });

  const playable = files.filter((f) => outcomes.get(f).job);
  const jwks = testJwks();
  for (let i = 0; i < playable.length; i += BATCH) {
    const batch = playable.slice(i, i + BATCH);
    const started = performance.now();
    const results = await page.evaluate(playInPage, batch.map((f) => ({ ...outcomes.get(f).job, jwks })));
    batchTimes.push(performance.now() - started);
    batch.forEach((f, k) => Object.assign(outcomes.get(f), results[k]));
  }
  if (errors.length) throw new Error(`uncaught errors in the page: ${errors.join('; ')}`);
}, { timeout: 60_000 });

after(async () => {
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
}, { timeout: 15_000 });

test('tests/vectors holds at least one vector, all played in one page', (t) => {
  assert.ok(files.length >= 1, `no *.json vector in ${VECTORS_DIR}`);
  const played = [...outcomes.values()].filter((o) => 'result' in o || 'threw' in o).length;
  t.diagnostic(`${played} vectors in ${batchTimes.length} page.evaluate batches: ${batchTimes.map((ms) => `${ms.toFixed(0)} ms`).join(', ')}`);
});

for (const file of files) {
  test(file, () => {
    const o = outcomes.get(file);
    assert.ok(o, `${file} was not played (the setup failed)`);
    if (o.readError) throw o.readError;
    const { vector: v } = o;
    assert.ok('result' in o || 'threw' in o, `${file} was not played in the page`);

    if ('error' in v.expect) {
      assert.ok(o.threw, `expected error ${v.expect.error}, but the call returned ${JSON.stringify(o.result)}`);
      const err = o.threw;
      assert.ok(err.isError, `threw a non-Error: ${err.text}`);
      assert.equal(typeof err.code, 'string', `the Error has no string .code: ${err.message}`);
      assert.ok(err.message.length > 0, 'the Error has an empty message');
      assert.equal(err.code, v.expect.error, `wrong error code (message: ${err.message})`);
      return;
    }
    if (o.threw) assert.fail(`expected a result, but the call threw ${o.threw.code ?? ''}: ${o.threw.message ?? o.threw.text}`);
    assertSubset(o.result, v.expect.result);
  });
}
