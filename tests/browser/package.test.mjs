// The npm package as a shop uses it (issue 18): `npm pack pkg/` makes the tarball, the example shop
// in examples/npm-consumer installs it like any dependency, bundles its checkout script with esbuild
// and runs it in Chromium, and runs its own Worker with it in workerd. Both price the same cart and
// must agree with the engine loaded straight from pkg/ in Node.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { loadPackage, signJws, testJwks } from '../node/helpers.mjs';
import { startWorker } from '../worker/server.mjs';
import { launchChromium } from './chromium.mjs';
import { ROOT, SHOTS, START_TIMEOUT, TEST_TIMEOUT } from './helpers.mjs';

const NOW = '2026-11-23T12:00:00Z';
const MANIFEST = {
  version: 1, id: 'npm-example', issued_at: '2026-11-01T00:00:00Z', expires_at: '2026-12-31T00:00:00Z', currency: 'USD',
  coupons: [{
    id: 'save10', name: 'Save 10%', status: 'active', codes: { type: 'static', code: 'SAVE10' },
    reward: { type: 'percentage', percent: '10', target: { type: 'order' } },
  }],
};
const CART = { currency: 'USD', lines: [{ id: 'l1', product_id: 'p1', quantity: 3, unit_price: '19.99' }] };
const INPUT = { jws: signJws(MANIFEST), jwks: testJwks(), cart: CART, codes: ['save10'], now: NOW };

const STEP_MS = 120_000; // npm pack, npm install, the example's build

let app; // the example shop, with the package installed from its tarball
let expected; // the same cart priced by pkg/ in Node
let tarball;

before(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-coupons-npm-'));
  // Each step has a time limit: a synchronous call that hangs would stop every timer, the test's own included.
  const out = execFileSync('npm', ['pack', path.join(ROOT, 'pkg'), '--pack-destination', dir, '--json'], { encoding: 'utf8', timeout: STEP_MS });
  const packed = JSON.parse(out)[0];
  tarball = path.join(dir, packed.filename);
  assert.deepEqual(packed.files.map((f) => f.path).sort(),
    ['README.md', 'edge_coupons.d.ts', 'edge_coupons.js', 'edge_coupons_bg.wasm', 'edge_coupons_bg.wasm.d.ts', 'edge_coupons_handoff.js', 'package.json']);

  app = path.join(dir, 'shop');
  fs.cpSync(path.join(ROOT, 'examples/npm-consumer'), app, { recursive: true });
  // Installed like any dependency, from the tarball alone: no registry is asked.
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], { cwd: app, stdio: 'pipe', timeout: STEP_MS });
  // The example's one build tool, esbuild, is the project's own copy (a shop installs it from npm).
  fs.symlinkSync(path.join(ROOT, 'node_modules/esbuild'), path.join(app, 'node_modules/esbuild'), 'dir');
  execFileSync(process.execPath, ['build.mjs'], { cwd: app, stdio: 'pipe', timeout: STEP_MS });

  const { CouponEngine } = await loadPackage();
  expected = CouponEngine.fromSignedManifest(INPUT.jws, INPUT.jwks, { now: NOW }).evaluate({ cart: CART, codes: INPUT.codes, now: NOW });
  assert.equal(expected.totals.total, '53.97');
}, START_TIMEOUT);

after(() => fs.rmSync(path.dirname(app), { recursive: true, force: true }));

test('the installed package declares its entry points and types', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(app, 'node_modules/edge-coupons/package.json'), 'utf8'));
  assert.equal(pkg.name, 'edge-coupons');
  assert.match(pkg.version, /^\d+\.\d+\.\d+$/);
  assert.deepEqual(pkg.exports['.'], { types: './edge_coupons.d.ts', default: './edge_coupons.js' });
  assert.equal(pkg.exports['./edge_coupons_bg.wasm'], './edge_coupons_bg.wasm');
  const types = fs.readFileSync(path.join(app, 'node_modules/edge-coupons', pkg.types), 'utf8');
  assert.match(types, /static fromSignedManifest\(/);
  assert.match(types, /export interface Evaluation/);
  // The bundle carries the engine's .wasm beside it, as an asset.
  assert.ok(fs.readdirSync(path.join(app, 'dist')).some((f) => f.endsWith('.wasm')));
});

test('an esbuild bundle of the shop\'s checkout script prices the cart in Chromium', TEST_TIMEOUT, async () => {
  const html = fs.readFileSync(path.join(app, 'index.html'), 'utf8')
    .replace('<script type="application/json" id="input">{}</script>', `<script type="application/json" id="input">${JSON.stringify(INPUT)}</script>`);
  const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
  const server = http.createServer((req, res) => {
    const file = req.url === '/' ? null : path.join(app, path.normalize(decodeURIComponent(req.url.split('?')[0])));
    if (!file) return res.writeHead(200, { 'content-type': 'text/html' }).end(html);
    if (!file.startsWith(app) || !fs.existsSync(file)) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' }).end(fs.readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => document.getElementById('total').textContent !== '…');
    assert.equal(await page.textContent('#total'), expected.totals.total);
    assert.equal(await page.textContent('#applied'), 'save10');
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, 'npm-example-browser.png') });
  } finally {
    await browser.close();
    server.close();
  }
});

test('the shop\'s own Worker, bundled by wrangler from the installed package, prices the cart in workerd', TEST_TIMEOUT, async () => {
  const worker = await startWorker({
    config: path.join(app, 'wrangler.toml'),
    vars: { MANIFEST_JWS: INPUT.jws, MANIFEST_JWKS: INPUT.jwks, NOW },
  });
  try {
    const res = await fetch(worker.url, { method: 'POST', body: JSON.stringify({ cart: CART, codes: INPUT.codes }) });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), expected);
    const bad = await fetch(worker.url, { method: 'POST', body: JSON.stringify({ cart: { ...CART, currency: 'EUR' } }) });
    assert.equal((await bad.json()).error.code, 'CURRENCY_MISMATCH');
  } finally {
    await worker.stop();
  }
});
