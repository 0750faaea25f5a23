// Shared by the browser tests: one real Worker and one headless Chromium per test file, pages with
// screenshots on failure, and an independent pricing of the page's cart through the Node package.
import fs from 'node:fs';
import { after, before } from 'node:test';
import path from 'node:path';
import { loadPackage } from '../node/helpers.mjs';
import { mintShopperToken, startDemoShop } from '../../scripts/demo-shop.mjs';
import { launchChromium } from './chromium.mjs';
import { ROOT, startWorker } from './server.mjs';

export { ROOT };
export const SHOTS = path.join(ROOT, 'test-results/browser');

export const shop = JSON.parse(fs.readFileSync(path.join(ROOT, 'www/shop.json'), 'utf8'));

// No test can hang: each has a time limit, and so do starting and stopping the Worker and the browser
// (starting allows two tries of wrangler's own 60 s limit). Playwright's waits give up after 30 s.
export const TEST_TIMEOUT = { timeout: 90_000 };
export const START_TIMEOUT = { timeout: 150_000 };
export const STOP_TIMEOUT = { timeout: 30_000 };

/**
 * Starts the Worker (with `workerOptions`), the shop backend stand-in beside it (scripts/demo-shop.mjs, signed in as the
 * demo shopper of shop.json) and the browser; `after` them with `env.close()`.
 */
export async function openEnv(workerOptions) {
  fs.mkdirSync(SHOTS, { recursive: true });
  let worker;
  try {
    worker = await startWorker(workerOptions);
  } catch (err) {
    // wrangler restarts when files it watches change (other work in this tree, a pkg/ rebuild) and
    // can drop a request while it starts: one more try, then the failure is real.
    process.stderr.write(`# starting the Worker failed (${err.message.split('\n')[0]}); trying once more\n`);
    worker = await startWorker(workerOptions);
  }
  let browser;
  let backend;
  try {
    backend = await startDemoShop({
      workerUrl: worker.url,
      signingKey: worker.shopperKey,
      redeemToken: worker.redeemToken,
      user: { id: shop.user.context.id, display_name: shop.user.display_name },
      allowOrigin: worker.url,
    });
    browser = await launchChromium();
  } catch (err) {
    await backend?.stop();
    await worker.stop();
    throw err;
  }
  return {
    url: worker.url,
    browser,
    worker,
    backend,
    async close() {
      try {
        await browser.close();
      } finally {
        await backend.stop();
        await worker.stop();
      }
    },
  };
}

/** A shopper token for the demo user (or `userId`), as the shop's backend signs it. */
export const shopperToken = async (env, userId = shop.user.context.id) => (await mintShopperToken(env.worker.shopperKey, userId)).token;

/** The authorization header of a shopper (the demo user by default). */
export const asShopper = async (env, userId) => ({ authorization: `Bearer ${await shopperToken(env, userId)}` });

/**
 * A test file's environment (openEnv): opened before its first test, closed after its last. The
 * object is filled in when it opens; its tests read `env.url`, `env.browser`, `env.worker`.
 * `workerOptions` go to the Worker's start (tests/worker/server.mjs: extra `vars`, ...).
 */
export function useEnv(workerOptions) {
  const env = {};
  before(async () => {
    Object.assign(env, await openEnv(typeof workerOptions === 'function' ? workerOptions() : workerOptions));
  }, START_TIMEOUT);
  after(async () => {
    await env.close?.();
  }, STOP_TIMEOUT);
  return env;
}

const slug = (s) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80);

/**
 * Runs `fn(page, context)` in a fresh browser context (its own storage and service workers).
 * On failure a full-page screenshot of every open page goes to test-results/browser/.
 * The page's shop.json names this file's shop backend stand-in as its `backend` (`backend: null` in
 * the options: none, an anonymous shop page), for the page's requests and its service worker's alike.
 */
export async function withPage(env, t, fn, { backend = env.backend?.url, ...contextOptions } = {}) {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 }, ...contextOptions });
  await context.route('**/shop.json', async (route) => {
    const response = await route.fetch();
    const json = await response.json();
    if (backend) json.backend = backend;
    else delete json.backend;
    await route.fulfill({ response, json });
  });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await fn(page, context);
    // An uncaught exception in the page is a failure even when the assertions passed.
    if (errors.length) throw new Error(`uncaught errors in the page: ${errors.join('; ')}`);
    // Passed: a failure screenshot of this test from an earlier run would only mislead.
    for (const f of fs.readdirSync(SHOTS)) if (f.startsWith(`FAILED-${slug(t.name)}`)) fs.rmSync(path.join(SHOTS, f));
  } catch (err) {
    const pages = context.pages();
    for (let i = 0; i < pages.length; i++) {
      const file = path.join(SHOTS, `FAILED-${slug(t.name)}${i ? `-${i}` : ''}.png`);
      try {
        await pages[i].screenshot({ path: file, fullPage: true });
        t.diagnostic(`screenshot: ${path.relative(ROOT, file)}`);
      } catch {
        // the page is gone; the error below says why
      }
    }
    throw err;
  } finally {
    await context.close();
  }
}

/** A screenshot kept on success too, to look at the page as the tests left it. */
export async function shot(page, t, name) {
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  t.diagnostic(`screenshot: ${path.relative(ROOT, file)}`);
  return file;
}

/**
 * Waits until the page's engine has a verified manifest: fresh from the Worker (`verified`) or the
 * service worker's saved copy (`saved`). The page says nothing about it while all is well, so this
 * reads the status element's data-state rather than its words.
 */
export const manifestReady = (page, states = ['verified', 'saved']) =>
  page.locator(states.map((s) => `#manifest-status[data-state="${s}"]`).join(', ')).waitFor({ state: 'attached' });

/** Opens the checkout and waits until the manifest is verified and the first preview is shown. */
export async function openCheckout(page, url) {
  await page.goto(`${url}/`);
  await manifestReady(page);
  await page.locator('#breakdown').filter({ hasText: /./ }).waitFor();
}

/** The rows and totals of the page's breakdown, as the decimal strings the page got from the engine. */
export const readBreakdown = (page, root = '#breakdown') =>
  page.evaluate((sel) => {
    const box = document.querySelector(sel);
    const rows = {};
    for (const tr of box.querySelectorAll('tr[data-line]')) {
      rows[tr.dataset.line] = { original: tr.dataset.original, discount: tr.dataset.discount, final: tr.dataset.final };
    }
    const totals = {};
    for (const tr of box.querySelectorAll('tr[data-total]')) totals[tr.dataset.total] = tr.dataset.amount;
    return { rows, totals };
  }, root);

/**
 * The request the page should send for `items` ({product_id: quantity}) and `codes`, built here from
 * shop.json and the manifest rules in docs/manifest.md, not from the page's code.
 */
export function requestFor(items, codes = [], payment = shop.payment_methods[0].id) {
  const lines = Object.entries(items).map(([id, quantity]) => {
    const p = shop.products.find((x) => x.id === id);
    return { id: `line-${id}`, product_id: id, quantity, unit_price: p.unit_price, attributes: p.attributes };
  });
  return {
    cart: { currency: shop.currency, lines, shipping: shop.shipping, fees: shop.fees, attributes: { payment_method: payment } },
    user: shop.user.context,
    codes,
  };
}

/** The same request priced by the Node package (pkg/) against the manifest the Worker serves. */
export async function priceInNode(url, request) {
  const { CouponEngine } = await loadPackage();
  const [jws, jwks] = await Promise.all([
    fetch(`${url}/manifest`).then((r) => r.text()),
    fetch(`${url}/jwks`).then((r) => r.json()),
  ]);
  const now = new Date().toISOString();
  const engine = CouponEngine.fromSignedManifest(jws.trim(), jwks, { now });
  try {
    return { evaluation: engine.evaluate({ ...request, now }), tray: engine.tray({ ...request.user, now }) };
  } finally {
    engine.free();
  }
}

/** Decimal string to integer minor units (cents), for arithmetic in the tests without floats. */
export const cents = (s) => {
  const [i, f = ''] = s.split('.');
  return BigInt(i) * 100n + BigInt((f + '00').slice(0, 2));
};
export const fromCents = (c) => `${c / 100n}.${String(c % 100n).padStart(2, '0')}`;
/** percent of an amount in cents, rounded half away from zero (docs/manifest.md, Money). */
export const percentOf = (c, pct) => (c * BigInt(pct) * 2n + 100n) / 200n;

// Going offline, as a shopper's browser does: the page and its service worker lose the network
// together and get it back together, and the page learns of it from the 'offline' / 'online' events.
//
// context.setOffline() cannot do that here. It updates the pages first and the service workers after
// (one CDP call each), so on the way back the page's 'online' event fires while the service worker is
// still offline: the page fetches the manifest again, the service worker's fetch fails, and the page
// gets the saved copy while online (a flaky "Offline: using the copy saved" in the offline test). It
// also does not hold across a navigation in a page that a service worker controls
// (microsoft/playwright#2311). So the two are cut separately, in a fixed order:
// - the service worker: every request it makes fails, as in a real outage (a context route);
// - the page: Chromium's network emulation on the page's own CDP session (navigator.onLine, the
//   events, and its requests that the service worker does not answer).
// Offline, the service worker is cut first; back online, it gets the network back before the page
// hears 'online', so whatever the page fetches then really reaches the Worker.
// The page's own requests fall back to the routes set before (withPage's shop.json).
const failServiceWorkerRequests = (route) =>
  route.request().serviceWorker() ? route.abort('internetdisconnected') : route.fallback();

const pageNetworks = new WeakMap(); // page -> its CDP session
async function emulatePageOffline(page, offline) {
  let cdp = pageNetworks.get(page);
  if (!cdp) {
    cdp = await page.context().newCDPSession(page);
    pageNetworks.set(page, cdp);
  }
  await cdp.send('Network.emulateNetworkConditions', { offline, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
}

export async function goOffline(page) {
  await page.context().route('**', failServiceWorkerRequests);
  await emulatePageOffline(page, true);
}

/**
 * Reloads with the network off, as a shopper would; resolves once the page knows it is offline.
 * After a reload Chromium reports navigator.onLine === true although the emulation still holds, so
 * the page's emulation is switched off and on again; the service worker stays cut all along.
 */
export async function reloadOffline(page) {
  await page.reload();
  await emulatePageOffline(page, false);
  await emulatePageOffline(page, true);
  await page.waitForFunction(() => navigator.onLine === false);
}

export async function goOnline(page) {
  await page.context().unroute('**', failServiceWorkerRequests);
  await emulatePageOffline(page, false);
}

/** Waits until the page's service worker is installed and controls the page (after a first visit). */
export async function serviceWorkerInControl(page) {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((r) => navigator.serviceWorker.addEventListener('controllerchange', r, { once: true }));
    }
  });
}
