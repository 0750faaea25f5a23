// Plays every tests/vectors/*.json inside headless Chromium against the package in pkg/ (CONTRACT.md
// section 6: the same results in native Rust, Node, the Worker and the browser). Node signs each
// manifest with the test key (tests/node/helpers.mjs), one page runs all the vectors in a few
// page.evaluate batches with the shared tests/vectors/play.mjs, and Node checks every outcome with
// the shared `checkVector`, exactly as tests/node/vectors.test.mjs does. A vector that cannot be
// read, or names an unknown op, fails; nothing is skipped.
//
// The page is a blank one served by a tiny node:http server with the two package files: no Worker
// (nor its test helper), so this suite takes about a second and nothing else running in the tree
// can disturb it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { PKG_DIR, ROOT, VECTORS_DIR, checkVector, readVector, testJwks, vectorFiles, vectorJob } from '../node/helpers.mjs';
import { launchChromium } from './chromium.mjs';

const BATCH = 100; // vectors per page.evaluate: a few round trips, each well under a megabyte
const files = vectorFiles();

// Only what the page needs: itself and the package, from pkg/ as built (not a copy).
const PAGE = `<!doctype html><meta charset="utf-8"><title>edge-coupons vectors</title>
<script type="module">
import init, { CouponEngine } from '/pkg/edge_coupons.js';
import { playVector } from '/play.mjs';
await init();
window.playAll = (jobs) => jobs.map((job) => playVector(CouponEngine, job));
</script>`;
const TYPES = { '.js': 'text/javascript', '.wasm': 'application/wasm' };

let server;
let browser;
const outcomes = new Map(); // file -> { vector, job, out? } | { readError }
const batchTimes = [];

before(async () => {
  const jwks = testJwks();
  for (const file of files) {
    try {
      const v = readVector(file);
      outcomes.set(file, { vector: v, job: vectorJob(v, jwks) });
    } catch (err) {
      outcomes.set(file, { readError: err });
    }
  }

  server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url, 'http://localhost');
    if (pathname === '/play.mjs') {
      // The one play routine every runner shares (Node, workerd, this page).
      fs.readFile(path.join(ROOT, 'tests/vectors/play.mjs'), (err, body) =>
        err ? res.writeHead(500).end(err.message) : res.writeHead(200, { 'content-type': 'text/javascript' }).end(body));
      return;
    }
    if (pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
      return;
    }
    const name = pathname.startsWith('/pkg/') ? pathname.slice(5) : '';
    if (!['edge_coupons.js', 'edge_coupons_handoff.js', 'edge_coupons_bg.wasm'].includes(name)) {
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
  await page.waitForFunction(() => window.playAll, null, { timeout: 10_000 }).catch(() => {
    throw new Error(`the package did not load in the page: ${errors.join('; ') || 'no error reported'}`);
  });

  const playable = files.filter((f) => outcomes.get(f).job);
  for (let i = 0; i < playable.length; i += BATCH) {
    const batch = playable.slice(i, i + BATCH);
    const started = performance.now();
    const results = await page.evaluate((jobs) => window.playAll(jobs), batch.map((f) => outcomes.get(f).job));
    batchTimes.push(performance.now() - started);
    batch.forEach((f, k) => { outcomes.get(f).out = results[k]; });
  }
  if (errors.length) throw new Error(`uncaught errors in the page: ${errors.join('; ')}`);
}, { timeout: 60_000 });

after(async () => {
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
}, { timeout: 15_000 });

test('tests/vectors holds at least one vector, all played in one page', (t) => {
  assert.ok(files.length >= 1, `no *.json vector in ${VECTORS_DIR}`);
  const played = [...outcomes.values()].filter((o) => o.out).length;
  t.diagnostic(`${played} vectors in ${batchTimes.length} page.evaluate batches: ${batchTimes.map((ms) => `${ms.toFixed(0)} ms`).join(', ')}`);
});

for (const file of files) {
  test(file, () => {
    const o = outcomes.get(file);
    assert.ok(o, `${file} was not played (the setup failed)`);
    if (o.readError) throw o.readError;
    assert.ok(o.out, `${file} was not played in the page`);
    checkVector(o.vector, o.out);
  });
}
