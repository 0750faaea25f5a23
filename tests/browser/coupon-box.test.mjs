// <coupon-box> (www/coupon-box.js) on a checkout page that is not ours: tests/browser/fixtures/
// foreign-shop.html, another shop's markup and cart, served from its own origin by a tiny node:http
// server with the element's files where a shop would copy them, the key set pinned as a file, and
// the Worker's routes forwarded under /coupons-api/. The host sets its cart; the element prices it
// with the engine as the Node package does, explains codes in the shopper's words, and tells the
// host through `coupon-change`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { priceInNode, ROOT, shot, TEST_TIMEOUT, useEnv, withPage } from './helpers.mjs';

const env = useEnv();
let shopServer;
let shopUrl;

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
// The element and what it imports, as a shop copies them (docs/page.md, the drop-in element).
const VENDOR = new Set(['coupon-box.js', 'engine.js', 'messages.js', 'format.js']);

before(async () => {
  shopServer = http.createServer(async (req, res) => {
    const { pathname } = new URL(req.url, 'http://localhost');
    const send = (status, type, body) => res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    try {
      if (pathname === '/') return send(200, TYPES['.html'], fs.readFileSync(path.join(ROOT, 'tests/browser/fixtures/foreign-shop.html')));
      if (pathname === '/keys/coupons-jwks.json') {
        return send(200, TYPES['.json'], await (await fetch(`${env.url}/jwks`)).text());
      }
      if (pathname.startsWith('/coupons-api/')) {
        const upstream = await fetch(`${env.url}/${pathname.slice('/coupons-api/'.length)}`);
        return send(upstream.status, upstream.headers.get('content-type') ?? 'text/plain', Buffer.from(await upstream.arrayBuffer()));
      }
      const file = pathname.replace(/^\/vendor\/edge-coupons\//, '');
      if (VENDOR.has(file)) return send(200, TYPES['.js'], fs.readFileSync(path.join(ROOT, 'www', file)));
      if (['pkg/edge_coupons.js', 'pkg/edge_coupons_handoff.js', 'pkg/edge_coupons_bg.wasm'].includes(file)) {
        return send(200, TYPES[path.extname(file)], fs.readFileSync(path.join(ROOT, file)));
      }
      send(404, 'text/plain', 'not found');
    } catch (err) {
      send(500, 'text/plain', String(err));
    }
  });
  await new Promise((resolve) => shopServer.listen(0, '127.0.0.1', resolve));
  shopUrl = `http://127.0.0.1:${shopServer.address().port}`;
});
after(() => new Promise((resolve) => shopServer.close(resolve)));

const socks = { id: 'NL-SOCK-W', product_id: 'NL-SOCK-W', quantity: 1, unit_price: '18.00', attributes: { category: 'socks' } };
const boots = { id: 'NL-BOOT-44', product_id: 'NL-BOOT-44', quantity: 1, unit_price: '129.00', attributes: { category: 'shoes' } };

async function type(page, codes) {
  const field = page.locator('coupon-box input');
  await field.fill(codes);
  await field.press('Enter');
}

test('<coupon-box> on another shop\'s page: its cart priced in the element, codes explained, the host told', TEST_TIMEOUT, async (t) => {
  await withPage(env, t, async (page) => {
    const origins = new Set();
    page.on('request', (r) => origins.add(new URL(r.url()).origin));
    await page.goto(`${shopUrl}/`);
    const box = page.locator('coupon-box');
    await box.locator('[data-tray] li').first().waitFor();

    // Codes typed in the element: one applies, one falls short of the cart condition, one is unknown.
    await type(page, 'shoes15, TENOFF, nope');
    await box.locator('[data-code="NOPE"] [data-outcome="rejected"]').waitFor();
    const customer = { id: 'nl-customer-7' }; // the host's signed-in customer (the fixture sets box.user)
    const request = { cart: { currency: 'USD', lines: [socks] }, user: customer, codes: ['SHOES15', 'TENOFF', 'NOPE'] };
    const { evaluation } = await priceInNode(env.url, request);
    const reason = (code) => evaluation.rejected.find((r) => r.code === code).reason;
    assert.equal(reason('TENOFF').missing, '57.00');
    assert.equal(await box.locator('[data-code="TENOFF"] [data-outcome]').innerText(), 'Add $57.00 more to use this coupon (for orders of $75.00 or more).');
    assert.equal(await box.locator('[data-code="SHOES15"] [data-outcome]').innerText(), 'This coupon applies to shoes only. Add a matching item to use it.');
    assert.equal(await box.locator('[data-code="NOPE"] [data-outcome]').innerText(), 'This code isn’t valid. Check it and try again.');
    assert.equal(await box.locator('[data-code="TENOFF"] [data-outcome]').getAttribute('title'), reason('TENOFF').message);
    // The host heard it: nothing applies yet, so no code goes with its order.
    assert.equal(await page.locator('#host-total').innerText(), evaluation.totals.total);
    assert.equal(await page.locator('#host-codes').innerText(), '');
    // The tray knows TENOFF was added and does not apply yet; welcome-10 needs a signed-in shopper.
    assert.equal(await box.locator('[data-tray] li[data-coupon="ten-off-75"]').getAttribute('data-state'), 'added');
    assert.equal(await box.locator('[data-tray] li[data-coupon="ten-off-75"] button').innerText(), 'Added, not applied yet');
    await shot(page, t, 'coupon-box-foreign-before');

    // The host changes its cart: the element prices it again and tells the host what applies now.
    await page.locator('#add-boots').click();
    await box.locator('[data-code="SHOES15"] [data-outcome="applied"]').waitFor();
    await box.locator('[data-code="TENOFF"] [data-outcome="applied"]').waitFor();
    const bigger = (await priceInNode(env.url, { cart: { currency: 'USD', lines: [socks, boots] }, user: customer, codes: ['SHOES15', 'TENOFF', 'NOPE'] })).evaluation;
    await page.locator('#host-total', { hasText: bigger.totals.total }).waitFor();
    assert.equal(await page.locator('#host-codes').innerText(), 'SHOES15, TENOFF');
    const detail = await page.evaluate(() => window.lastCouponChange);
    assert.deepEqual(detail.evaluation.totals, bigger.totals, 'the element prices as the Node package does');
    assert.deepEqual(detail.codes, ['SHOES15', 'TENOFF']);
    assert.deepEqual(detail.rejected.map((r) => [r.code, r.text]), [['NOPE', 'This code isn’t valid. Check it and try again.']]);
    assert.equal(await box.locator('[data-total="total"]').getAttribute('data-amount'), bigger.totals.total);
    assert.equal(await box.locator('[data-total="total"]').innerText(), `$${bigger.totals.total}`);
    assert.equal(await box.locator('[data-tray] li[data-coupon="ten-off-75"] button').innerText(), 'Added');

    // One click in the tray adds a coupon too.
    await box.getByRole('button', { name: /^Apply 5\.00 off accessories/ }).click();
    await box.locator('[data-code="ACCESS5"] [data-outcome="rejected"]').waitFor();

    // The host's styles do not leak in (its buttons are hot pink), and everything came from the
    // shop's own origin: its page, the element's files, the key set and the forwarded API.
    const bg = await box.locator('button[type="submit"]').evaluate((b) => getComputedStyle(b).backgroundColor);
    assert.equal(bg, 'rgb(255, 255, 255)');
    assert.deepEqual([...origins], [shopUrl]);
    await shot(page, t, 'coupon-box-foreign-en');
  }, { backend: null, serviceWorkers: 'block' });
});

test('<coupon-box> speaks the shopper\'s language: German sentences and local money', TEST_TIMEOUT, async (t) => {
  await withPage(env, t, async (page) => {
    await page.goto(`${shopUrl}/?locale=de-DE&anon`);
    const box = page.locator('coupon-box');
    await box.locator('[data-tray] li').first().waitFor();
    await type(page, 'TENOFF, WELCOME10');
    const tenoff = box.locator('[data-code="TENOFF"] [data-outcome]');
    await tenoff.waitFor();
    // Nobody signed in on this page: TENOFF counts uses per customer, so it needs to know who.
    assert.equal(await tenoff.innerText(), 'Melden Sie sich an, um diesen Gutschein zu nutzen: Er gilt 2-mal pro Kunde.');
    assert.equal(await box.locator('[data-code="WELCOME10"] [data-outcome]').innerText(), 'Melden Sie sich an, um diesen Gutschein zu nutzen: Er gilt für ausgewählte Kunden.');
    await page.locator('#add-boots').click();
    await box.locator('[data-total="total"]').waitFor();
    const total = await box.locator('[data-total="total"]').getAttribute('data-amount');
    const local = await page.evaluate((a) => new Intl.NumberFormat('de-DE', { style: 'currency', currency: 'USD' }).format(a), total);
    assert.equal(await box.locator('[data-total="total"]').innerText(), local);
    const ten = await page.evaluate(() => new Intl.NumberFormat('de-DE', { style: 'currency', currency: 'USD' }).format('10.00'));
    assert.equal(await box.locator('[data-tray] li[data-coupon="ten-off-75"] [data-summary]').innerText(), `${ten} Rabatt auf Ihre Bestellung`);
    await shot(page, t, 'coupon-box-foreign-de');
    await page.setViewportSize({ width: 390, height: 844 });
    const { sw, cw } = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth }));
    assert.ok(sw <= cw, `no horizontal scroll at 390 px (${sw} > ${cw})`);
    await shot(page, t, 'coupon-box-foreign-de-390');
  }, { backend: null, serviceWorkers: 'block' });
});
