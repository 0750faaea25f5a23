// The console (www/console/) against the real Worker: a marketer signs in, creates a coupon, publishes
// it, sees it priced on the checkout, pauses it and sees the checkout refuse it, places an order and
// sees it in the stats (and its revert as a rollback, per day, week and month: what the old stats page
// test checked), generates and uploads bulk codes, and puts an earlier version back. Then the list and
// a coupon at 390 px, keyboard and screen-reader basics, and where the credential is (and is not).
// Screenshots go to test-results/browser/console-*.png; docs/console.md shows some of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { devKeys } from '../worker/server.mjs';
import { CompactSign, importJWK } from 'jose';
import { openCheckout, openEnv, readBreakdown, shop, shot, useEnv, withPage } from './helpers.mjs';

// The Worker holds a signing key (the optional MANIFEST_SIGNING_KEY secret: the dev key, whose public
// half is its MANIFEST_JWKS) and a code MAC key, so the console can sign and generate codes.
const env = useEnv(() => ({
  vars: { MANIFEST_SIGNING_KEY: devKeys().key, CODE_MAC_KEY: crypto.randomBytes(32).toString('base64url') },
}));
const STORY = { timeout: 420_000 };
const SHORT = { timeout: 120_000 };
const today = () => new Date().toISOString().slice(0, 10);

/** Waits for a console view to be rendered (app.js marks the body), optionally after navigating. */
async function view(page, name, hash) {
  const before = await page.evaluate(() => document.body.dataset.rendered ?? '');
  if (hash) await page.evaluate((h) => (location.hash = h), hash);
  await page.waitForFunction(
    ([v, b, nav]) => document.body.dataset.view === v && (!nav || document.body.dataset.rendered !== b) && !document.getElementById('view').hasAttribute('aria-busy'),
    [name, before, Boolean(hash)],
  );
}

async function signIn(page, server = env) {
  const token = server.worker.adminToken;
  await page.goto(`${server.url}/console/`);
  await page.locator('#signin:not([hidden])').waitFor();
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await view(page, 'coupons');
  await page.locator('#coupon-table table').waitFor();
}

/** A screenshot from the top of the page (the header is sticky: a full-page shot shows it where the page was scrolled). */
async function snap(page, t, name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  return shot(page, t, name);
}

const noSideScroll = (page) =>
  page.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth }));

/** The list's rows: the coupon ids shown. */
const listed = (page) => page.locator('#coupon-table tr[data-coupon]').evaluateAll((els) => els.map((e) => e.dataset.coupon));

/** Fills the coupon form: `fields` by label, then publishes and waits for the coupon's page. */
async function publishForm(page, name) {
  await page.getByRole('button', { name: /^Publish/ }).click();
  await view(page, 'coupon');
  await page.locator('h1', { hasText: name }).waitFor();
  await page.locator('#notice', { hasText: 'Published' }).waitFor();
}

async function statsLoaded(page, action) {
  const before = await page.locator('.view[data-view="stats"]').getAttribute('data-loaded').catch(() => null);
  await action();
  await page.waitForFunction((b) => {
    const v = document.querySelector('.view[data-view="stats"]');
    return v?.dataset.loaded && v.dataset.loaded !== b;
  }, before);
}

/** { period: value } of one series in a stats table (the exact strings the API gave). */
const tableSeries = (page, chart, series) =>
  page
    .locator(`table[data-chart="${chart}"] tr[data-period]`)
    .evaluateAll((rows, s) => Object.fromEntries(rows.map((r) => [r.dataset.period, r.querySelector(`td[data-series="${s}"]`).dataset.value])), series);

async function downloadText(page, click) {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  return { name: download.suggestedFilename(), text: fs.readFileSync(await download.path(), 'utf8') };
}

test('the whole story: sign in, create and publish a coupon, checkout, pause, order, stats, codes, put a version back', STORY, async (t) => {
  const token = env.worker.adminToken;
  await withPage(env, t, async (page, context) => {
    const urls = [];
    page.on('framenavigated', (f) => urls.push(f.url()));

    // ---- Sign in: a wrong token is refused at the field; the right one opens the list.
    await page.goto(`${env.url}/console/`);
    await page.locator('#signin:not([hidden])').waitFor();
    await page.getByLabel('Admin token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#signin-error', { hasText: 'not right' }).waitFor();
    assert.equal(await page.getByLabel('Admin token').getAttribute('aria-invalid'), 'true');
    await snap(page, t, 'console-signin');
    await page.getByLabel('Admin token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await view(page, 'coupons');
    await page.locator('#coupon-table table').waitFor();

    // The credential lives only in an HttpOnly, SameSite=Strict cookie: not in the URL, not in
    // storage, not readable by the page.
    const cookie = (await context.cookies()).find((c) => c.name === 'console_session');
    assert.ok(cookie, 'a console_session cookie');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.ok(!cookie.value.includes(token), 'the cookie is not the token itself');
    const stored = await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie }));
    assert.ok(!stored.includes(token), 'no token in localStorage, sessionStorage or document.cookie');
    assert.ok(!stored.includes('console_session'), 'the session cookie is HttpOnly');

    // ---- The list: Available holds active, scheduled, paused and draft coupons; search and filters.
    const manifest = JSON.parse(Buffer.from((await (await fetch(`${env.url}/manifest`)).text()).split('.')[1], 'base64url'));
    assert.deepEqual((await listed(page)).sort(), manifest.coupons.map((c) => c.id).sort());
    await page.locator('tr[data-coupon="flash-sale"] [data-status="paused"]').waitFor();
    await page.locator('tr[data-coupon="spring-preview"] [data-status="draft"]').waitFor();
    await page.getByLabel('Search by name, id or code').fill('shoes-15');
    assert.deepEqual(await listed(page), ['shoes-15']);
    await page.getByLabel('Search by name, id or code').fill('tenoff'); // a code, typed loosely
    assert.deepEqual(await listed(page), ['ten-off-75']);
    await page.getByLabel('Search by name, id or code').fill('BACK7H2KQ9ZX'); // a unique code finds its coupon
    assert.deepEqual(await listed(page), ['comeback-15']);
    await page.getByLabel('Search by name, id or code').fill('');
    await page.getByLabel('Type').selectOption('automatic');
    const automatic = await listed(page);
    assert.deepEqual(automatic.sort(), manifest.coupons.filter((c) => c.codes.type === 'automatic').map((c) => c.id).sort());
    await page.getByLabel('Type').selectOption('');
    await page.getByLabel('Status').selectOption('paused');
    assert.deepEqual(await listed(page), ['flash-sale']);
    await page.getByLabel('Status').selectOption('');
    await page.getByRole('tab', { name: 'Archived' }).click();
    await page.locator('#coupon-table .empty').waitFor();
    await page.getByRole('tab', { name: 'Available' }).click();
    await snap(page, t, 'console-list');

    // ---- Create a coupon: errors at the field, a live preview priced in the page.
    await page.getByRole('link', { name: 'New coupon' }).first().click();
    await view(page, 'new');
    await page.getByLabel('Name shoppers see').fill('Autumn: 20% off shoes');
    assert.equal(await page.getByLabel('Coupon id').inputValue(), 'autumn-20-off-shoes', 'the id is made from the name');
    await page.getByLabel('Code', { exact: true }).fill('autumn-20');
    await page.getByLabel('Percent').fill('150');
    await page.getByLabel('Percent').press('Tab');
    await page.locator('#e-percent', { hasText: 'at most 100' }).waitFor();
    assert.equal(await page.getByLabel('Percent').getAttribute('aria-invalid'), 'true');
    await page.getByLabel('Percent').fill('20');
    await page.getByLabel('Percent').press('Tab');
    await page.locator('#e-percent:empty').waitFor({ state: 'attached' });
    await page.getByLabel('On', { exact: true }).selectOption('categories');
    await page.getByLabel('Categories', { exact: true }).fill('shoes');
    await page.getByLabel('Uses per customer').fill('5');
    await page.getByLabel('Time zone').fill('Europe/Berlin');
    // The sample cart holds a Trail runner (89.99, shoes) and a White tee: 20% of 89.99 is 18.00.
    await page.locator('#preview-result [data-outcome="applied"]').waitFor();
    await page.locator('#preview-result tr[data-total="discount"][data-amount="18.00"]').waitFor();
    // An empty required field is refused before publishing, with a summary that links to it.
    await page.getByLabel('Categories', { exact: true }).fill('');
    await page.getByRole('button', { name: 'Publish coupon' }).click();
    await page.locator('#error-summary:not([hidden])', { hasText: 'Name at least one category' }).waitFor();
    await page.locator('#e-categories', { hasText: 'Name at least one category' }).waitFor();
    await page.getByLabel('Categories', { exact: true }).fill('shoes');
    await page.locator('#preview-result tr[data-total="discount"][data-amount="18.00"]').waitFor();
    await snap(page, t, 'console-form');
    await publishForm(page, 'Autumn: 20% off shoes');
    await page.locator('.title-row [data-status="active"]').waitFor();
    // Its settings in words, from the engine.
    const settings = await page.locator('dl.settings').innerText();
    assert.match(settings, /20%/);
    assert.match(settings, /AUTUMN20/);
    await snap(page, t, 'console-coupon');
    assert.ok(urls.every((u) => !u.includes(token)), 'the token never appears in a URL');

    // ---- The checkout prices it (a new page in this browser: the shop's signed price list).
    const checkout = await context.newPage();
    await openCheckout(checkout, env.url);
    const runner = shop.products.find((p) => p.id === 'runner-42');
    const addRunnerWith = async (code) => {
      await checkout.getByRole('button', { name: `Add ${runner.name} to cart` }).click();
      await checkout.getByLabel('Enter one or more codes').fill(code);
      await checkout.getByLabel('Enter one or more codes').press('Enter');
    };
    await addRunnerWith('AUTUMN20');
    await checkout.locator('#codes [data-code="AUTUMN20"] [data-outcome="applied"]').waitFor();
    assert.equal((await readBreakdown(checkout)).rows['line-runner-42'].discount, '18.00');

    // ---- Pause it in the console: the checkout's order is refused with the edge's reason.
    await page.bringToFront();
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.locator('#notice', { hasText: 'paused' }).waitFor();
    await view(page, 'coupon');
    await page.locator('.title-row [data-status="paused"]').waitFor();
    assert.deepEqual(await page.locator('.actions button').evaluateAll((els) => els.map((e) => e.textContent)), ['Activate', 'End', 'Archive']);
    await checkout.bringToFront();
    await checkout.getByRole('button', { name: 'Place order' }).click();
    const refused = checkout.locator('#order-status[data-state="codes-refused"]');
    await refused.waitFor();
    assert.match(await refused.innerText(), /AUTUMN20: This offer is paused/);

    // ---- Activate it again, place an order with it.
    await page.bringToFront();
    await page.getByRole('button', { name: 'Activate' }).click();
    await page.locator('#notice', { hasText: 'active again' }).waitFor();
    await view(page, 'coupon');
    await page.locator('.title-row [data-status="active"]').waitFor();
    await checkout.bringToFront();
    await checkout.evaluate(() => localStorage.clear()); // forget the refusal and the cart
    await openCheckout(checkout, env.url);
    await addRunnerWith('AUTUMN20');
    await checkout.locator('#codes [data-code="AUTUMN20"] [data-outcome="applied"]').waitFor();
    const [answer] = await Promise.all([
      checkout.waitForResponse((r) => new URL(r.url()).pathname === '/redemptions'),
      checkout.getByRole('button', { name: 'Place order' }).click(),
    ]);
    await checkout.locator('#order-status[data-state="placed"]').waitFor();
    const placed = await answer.json();
    const discount = placed.redemption.coupons.find((c) => c.coupon_id === 'autumn-20-off-shoes').discount;
    assert.equal(discount, '18.00');
    await checkout.close(); // a tab behind another crawls; the console goes on alone

    // ---- Stats: the overview across coupons, then the coupon's own charts and tables.
    await page.getByRole('link', { name: 'Stats' }).first().click();
    await view(page, 'stats');
    await page.locator('.view[data-view="stats"][data-loaded]').waitFor();
    assert.equal(await page.locator('figure.chart[data-drawn="true"] canvas').count(), 3, 'three Chart.js charts, drawn');
    const overviewRow = page.locator('table.by-coupon tr[data-coupon="autumn-20-off-shoes"]');
    assert.equal(await overviewRow.locator('td[data-series="redemptions"]').getAttribute('data-value'), '1');
    assert.equal(await overviewRow.locator('td[data-series="discount_given"]').getAttribute('data-value'), discount);
    assert.ok(Number(await page.locator('[data-metric="redemptions"]').getAttribute('data-value')) >= 1);
    await snap(page, t, 'console-stats');
    await statsLoaded(page, () => overviewRow.getByRole('link').click());
    await page.locator('h1', { hasText: 'Stats: Autumn' }).waitFor();
    const days = await tableSeries(page, 'activity', 'redemptions');
    assert.equal(Object.keys(days).length, 30, 'a row for every day of the last 30, empty or not');
    assert.equal(days[today()], '1');
    assert.equal((await tableSeries(page, 'money', 'discount_given'))[today()], discount);
    assert.equal((await tableSeries(page, 'money', 'gross_merchandise_value'))[today()], placed.evaluation.totals.subtotal);
    // The canvas says what it shows; the table beside it has every value.
    assert.match(await page.locator('figure[data-chart="activity"] canvas').getAttribute('aria-label'), /Redemptions: 1 in all, most in /);
    // A tooltip on hover (Chart.js), with the exact amount.
    const csv = await downloadText(page, () => page.getByRole('button', { name: /Download CSV/ }).click());
    assert.match(csv.name, /^autumn-20-off-shoes-stats-.*-day\.csv$/);
    assert.match(csv.text, new RegExp(`^${today()},1,1,0,${discount.replace('.', '\\.')},`, 'm'));
    await snap(page, t, 'console-stats-coupon');

    // The order is cancelled (the shop's backend reverts it): a rollback, per day, month and week.
    const revert = await fetch(`${env.url}/redemptions/${placed.redemption.id}/revert`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.worker.redeemToken}` },
    });
    assert.equal(revert.status, 200);
    await statsLoaded(page, () => page.getByRole('button', { name: 'Show' }).click());
    assert.equal((await tableSeries(page, 'activity', 'rollbacks'))[today()], '1');
    assert.equal((await tableSeries(page, 'activity', 'redemptions'))[today()], '0');
    await page.getByLabel('Group by').selectOption('month');
    await statsLoaded(page, () => page.getByRole('button', { name: 'Show' }).click());
    const months = await tableSeries(page, 'activity', 'rollbacks');
    assert.ok(Object.keys(months).length <= 2 && Object.keys(months).every((m) => /^\d{4}-\d{2}$/.test(m)));
    assert.equal(months[today().slice(0, 7)], '1');
    await page.getByLabel('Group by').selectOption('week');
    await statsLoaded(page, () => page.getByRole('button', { name: 'Show' }).click());
    const weeks = await tableSeries(page, 'activity', 'rollbacks');
    assert.ok(Object.keys(weeks).every((w) => /^\d{4}-W\d{2}$/.test(w)) && Object.keys(weeks).length >= 5);
    assert.deepEqual(Object.values(weeks).filter((v) => v !== '0'), ['1']);
    await page.getByLabel('Group by').selectOption('day');

    // ---- A coupon of unique codes: generate 600 (two calls of the Worker's 500) and download them.
    await page.getByRole('link', { name: 'New coupon' }).first().click();
    await view(page, 'new');
    await page.getByLabel('Name shoppers see').fill('Thank-you codes');
    await page.getByLabel('A unique code per customer').check();
    await page.getByLabel('Prefix').fill('THANKS');
    await page.getByLabel('Characters in all').fill('17');
    await page.getByLabel('Reward', { exact: true }).selectOption('fixed_amount');
    await page.getByLabel('Amount off (USD)').fill('5.00');
    await page.locator('#preview-note', { hasText: 'check character' }).waitFor();
    await page.locator('#preview-result [data-outcome="applied"]').waitFor(); // a sample code of the format, priced
    await publishForm(page, 'Thank-you codes');
    await page.getByLabel('How many codes').fill('600');
    const generated = await downloadText(page, () => page.getByRole('button', { name: 'Generate and download' }).click());
    const codes = generated.text.trim().split(/\r?\n/);
    assert.equal(codes[0], 'code');
    assert.equal(codes.length, 601);
    assert.equal(new Set(codes.slice(1)).size, 600, 'all different');
    assert.ok(codes.slice(1).every((c) => c.startsWith('THANKS') && c.length === 17), 'in the coupon\'s format');
    await page.locator('#notice', { hasText: '600 new codes' }).waitFor();
    // The coupon's history lists the generation once, though it took two calls of at most 500.
    const generatedRow = page.locator('#uploads tr[data-kind="generated"]');
    await generatedRow.waitFor();
    assert.equal(await generatedRow.count(), 1);
    assert.match(await generatedRow.innerText(), /Generated here\s+600\s+0\s+0/);

    // ---- Upload 1,200 codes (and three bad rows) to the come-back coupon, in chunks of 500.
    await view(page, 'coupon', '#coupon/comeback-15');
    const abc = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
    const good = Array.from({ length: 1200 }, () => `BACK${Array.from(crypto.randomBytes(8), (b) => abc[b % 32]).join('')}`);
    const rows = [...good];
    rows.splice(9, 0, 'NOT-A-CODE-OF-THIS'); // file line 11
    rows.splice(700, 0, 'BACK12'); // file line 702: too short
    rows.push('BACKÄÖÜ12345'); // file line 1204: not a code at all
    await page.getByLabel('CSV file of codes').setInputFiles({ name: 'codes.csv', mimeType: 'text/csv', buffer: Buffer.from(`code\n${rows.join('\n')}\n`) });
    const uploads = [];
    page.on('request', (r) => r.method() === 'POST' && /\/admin\/coupons\/comeback-15\/codes$/.test(new URL(r.url()).pathname) && uploads.push(r));
    await page.getByRole('button', { name: 'Upload codes' }).click();
    const result = page.locator('#upload-result');
    await result.locator('p').waitFor({ timeout: 60_000 });
    assert.match(await result.innerText(), /1,200 codes uploaded from 1,203 rows; 3 rows refused/);
    assert.deepEqual(await result.locator('tr[data-line]').evaluateAll((els) => els.map((e) => Number(e.dataset.line))), [11, 702, 1204]);
    assert.ok(uploads.length >= 3, 'sent in chunks of at most 500 rows');
    const bar = page.locator('#codes progress[aria-label="Uploading codes"]');
    assert.equal(await bar.evaluate((b) => b.value === b.max && b.max === 1203), true, 'the progress bar reached the end');
    // The file is one entry of the history, with what was added and refused.
    const uploadedRow = page.locator('#uploads tr[data-kind="upload"]').first();
    await uploadedRow.waitFor();
    assert.match(await uploadedRow.innerText(), /Uploaded file \(\d+ parts\)\s+1,200\s+3\s+0/);
    await snap(page, t, 'console-codes');
    const pool = await fetch(`${env.url}/admin/coupons/comeback-15/pool`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(pool.status, 200);

    // ---- Versions: what changed in each; put an earlier one back.
    await page.getByRole('link', { name: 'Versions' }).click();
    await view(page, 'versions');
    const versions = page.locator('li.version');
    assert.ok((await versions.count()) >= 3);
    await page.locator('li.version[data-current="true"]', { hasText: 'Added Thank-you codes' }).waitFor();
    await page.locator('li.version', { hasText: 'Added Autumn: 20% off shoes' }).waitFor();
    await snap(page, t, 'console-versions');
    const autumnVersion = await page.locator('li.version', { hasText: 'Added Autumn: 20% off shoes' }).getAttribute('data-version');
    await page.getByRole('button', { name: `Put back Version ${autumnVersion}` }).click();
    await page.locator('#notice', { hasText: `Version ${autumnVersion} is back in force` }).waitFor();
    await page.getByRole('link', { name: 'Coupons' }).first().click();
    await view(page, 'coupons');
    const after = await listed(page);
    assert.ok(after.includes('autumn-20-off-shoes') && !after.includes('thank-you-codes'), 'the version before the codes coupon is in force');
    const served = JSON.parse(Buffer.from((await (await fetch(`${env.url}/manifest`)).text()).split('.')[1], 'base64url'));
    assert.ok(!served.coupons.some((c) => c.id === 'thank-you-codes'), 'and served to the checkout');

    // ---- Archive a draft: its only operation, after a confirmation; it moves to the Archived tab.
    await page.locator('tr[data-coupon="spring-preview"] a').click();
    await view(page, 'coupon');
    assert.deepEqual(await page.locator('.actions button').evaluateAll((els) => els.map((e) => e.textContent)), ['Archive']);
    await page.getByRole('button', { name: 'Archive' }).click();
    await page.getByRole('button', { name: 'Archive coupon' }).click();
    await page.locator('.title-row [data-status="archived"]').waitFor();
    assert.equal(await page.locator('.actions button').count(), 0, 'nothing more to do with an archived coupon');
    await view(page, 'coupons', '#coupons');
    assert.ok(!(await listed(page)).includes('spring-preview'));
    await page.getByRole('tab', { name: 'Archived' }).click();
    assert.deepEqual(await listed(page), ['spring-preview']);
    await page.getByRole('tab', { name: 'Available' }).click();
    assert.ok(urls.every((u) => !u.includes(token)), 'the token never appears in a URL');
  });
});

test('390 px wide: the list, a coupon, the form and the stats fit a phone', SHORT, async (t) => {
  await withPage(env, t, async (page) => {
    await signIn(page);
    for (const [name, hash, shotName] of [
      ['coupons', null, 'console-list-390'],
      ['coupon', '#coupon/shoes-15', 'console-coupon-390'],
      ['edit', '#edit/shoes-15', 'console-form-390'],
      ['stats', '#stats', 'console-stats-390'],
    ]) {
      if (hash) await view(page, name, hash);
      if (name === 'stats') await page.locator('.view[data-view="stats"][data-loaded]').waitFor();
      if (name === 'edit') await page.locator('#preview-result [data-outcome]').waitFor();
      const { sw, cw } = await noSideScroll(page);
      assert.ok(sw <= cw, `${name}: nothing scrolls sideways at 390 px (${sw} > ${cw})`);
      await snap(page, t, shotName);
    }
  }, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
});

test('keyboard and screen readers: tab order reaches the forms, every control has a name; sign out; no cookie, no CSRF', SHORT, async (t) => {
  await withPage(env, t, async (page) => {
    await page.goto(`${env.url}/console/`);
    await page.locator('#signin:not([hidden])').waitFor();
    // The sign-in field has focus; Tab goes on to the button.
    assert.equal(await page.evaluate(() => document.activeElement.id), 'signin-token');
    // Without a session, the admin routes answer 401 and nothing is shown.
    assert.equal(await page.evaluate(() => fetch('/admin/coupons', { headers: { 'x-requested-with': 'console' } }).then((r) => r.status)), 401);
    await page.keyboard.type(env.worker.adminToken);
    await page.keyboard.press('Enter');
    await view(page, 'coupons');
    await page.locator('#coupon-table table').waitFor();

    // A cookie alone is not enough: the custom header is required (no cross-site form can send it).
    const csrf = await page.evaluate(() => fetch('/admin/coupons').then(async (r) => ({ status: r.status, body: await r.json() })));
    assert.equal(csrf.status, 403);
    assert.equal(csrf.body.error.code, 'CSRF_HEADER_REQUIRED');

    // Tab from the top of a fresh load (still signed in: the cookie): the skip link, the nav, then
    // the list's controls.
    await page.reload();
    await view(page, 'coupons');
    await page.locator('#coupon-table table').waitFor();
    const order = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => document.activeElement.id || document.activeElement.textContent.trim().slice(0, 30)));
    }
    assert.equal(order[0], 'Skip to the content');
    assert.ok(order.includes('New coupon') && order.includes('search'), `tab order: ${order.join(' | ')}`);

    // On the form, Tab reaches every field in order, starting with the name.
    await view(page, 'new', '#new');
    await page.locator('#f-name').focus();
    const formOrder = [];
    for (let i = 0; i < 6; i++) {
      formOrder.push(await page.evaluate(() => document.activeElement.id));
      await page.keyboard.press('Tab');
    }
    assert.deepEqual(formOrder.slice(0, 4), ['f-name', 'f-id', 'f-description', 'f-status']);

    // Every button, link and field has an accessible name (text, aria-label or a label).
    for (const hash of ['#coupons', '#coupon/comeback-15', '#new', '#versions', '#stats']) {
      await view(page, hash.slice(1).split('/')[0], hash);
      if (hash === '#stats') await page.locator('.view[data-view="stats"][data-loaded]').waitFor();
      const unnamed = await page.evaluate(() =>
        [...document.querySelectorAll('button, a[href], input, select, textarea')]
          .filter((el) => el.offsetParent !== null)
          .filter((el) => {
            const text = (el.getAttribute('aria-label') ?? el.textContent ?? '').trim();
            const labelled = el.id && document.querySelector(`label[for="${el.id}"]`);
            return !text && !labelled && !el.getAttribute('aria-labelledby');
          })
          .map((el) => el.outerHTML.slice(0, 80)),
      );
      assert.deepEqual(unnamed, [], `controls without a name on ${hash}`);
      const h1 = await page.locator('#view h1').count();
      assert.equal(h1, 1, `one heading on ${hash}`);
    }

    // The old stats page goes to the console's stats.
    await page.goto(`${env.url}/stats.html`);
    await page.waitForURL(/\/console\/#stats$/);
    await view(page, 'stats');

    // Sign out: the cookie is gone and the sign-in form is back.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#signin:not([hidden])').waitFor();
    assert.equal((await page.context().cookies()).filter((c) => c.name === 'console_session' && c.value).length, 0);
    assert.equal(await page.evaluate(() => fetch('/admin/coupons', { headers: { 'x-requested-with': 'console' } }).then((r) => r.status)), 401);
    await snap(page, t, 'console-signed-out');
  });
});

test('a shop that keeps its signing key offline: edit a coupon, export the version, sign it as couponctl does, upload the JWS', SHORT, async (t) => {
  // A Worker without MANIFEST_SIGNING_KEY: POST /admin/manifest/sign answers 503 SIGNING_DISABLED.
  const offline = await openEnv();
  try {
    await withPage(offline, t, async (page) => {
      await signIn(page, offline);
      await view(page, 'edit', '#edit/shoes-15');
      await page.getByLabel('Percent').fill('20');
      // The sample cart's Trail runner (89.99, shoes): 20% is 18.00.
      await page.locator('#preview-result tr[data-total="discount"][data-amount="18.00"]').waitFor();
      await page.getByRole('button', { name: 'Publish changes' }).click();
      await page.locator('#offline-sign:not([hidden]) h2', { hasText: 'Sign it with your own key' }).waitFor();
      const exported = await downloadText(page, () => page.getByRole('button', { name: 'Download the version to sign' }).click());
      const payload = JSON.parse(exported.text);
      assert.equal(payload.coupons.find((c) => c.id === 'shoes-15').reward.percent, '20');
      assert.equal(payload.coupons.length, 12, 'the whole price list, with the one coupon changed');
      assert.ok(Date.parse(payload.expires_at) > Date.now());
      await snap(page, t, 'console-offline-sign');
      // What `couponctl sign --key shop.jwk.json payload.json` does: a compact JWS, EdDSA, with the kid.
      const key = devKeys().key;
      const jws = await new CompactSign(new TextEncoder().encode(exported.text))
        .setProtectedHeader({ alg: 'EdDSA', kid: key.kid })
        .sign(await importJWK(key, 'EdDSA'));
      await page.getByLabel('Signed file (.jws)').setInputFiles({ name: 'demo-shop.jws', mimeType: 'application/jose', buffer: Buffer.from(jws) });
      await page.getByRole('button', { name: 'Upload and publish' }).click();
      await view(page, 'coupon');
      await page.locator('#notice', { hasText: 'Published' }).waitFor();
      assert.match(await page.locator('dl.settings').innerText(), /20% off/);
      await view(page, 'versions', '#versions');
      await page.locator('li.version[data-current="true"]', { hasText: 'Changed 15% off shoes' }).waitFor();
      const served = JSON.parse(Buffer.from((await (await fetch(`${offline.url}/manifest`)).text()).split('.')[1], 'base64url'));
      assert.equal(served.coupons.find((c) => c.id === 'shoes-15').reward.percent, '20');
    });
  } finally {
    await offline.close();
  }
});

/** Publishes, through the admin API, the manifest `server` serves with `coupon` added (a new id
 * with `suffix`), signed with the dev key as couponctl would. */
async function publishWith(server, suffix, coupon) {
  const key = devKeys().key;
  const served = (await (await fetch(`${server.url}/manifest`)).text()).split('.')[1];
  const payload = JSON.parse(Buffer.from(served, 'base64url'));
  payload.id = `${payload.id}-${suffix}`;
  payload.coupons.push(coupon);
  const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid })
    .sign(await importJWK(key, 'EdDSA'));
  const put = await fetch(`${server.url}/admin/manifest`, {
    method: 'PUT', body: jws, headers: { authorization: `Bearer ${server.worker.adminToken}`, 'content-type': 'application/jose' },
  });
  assert.equal(put.status, 201, await put.text());
}

test('a name holding a bidi control reorders nothing around it: the list, the title and the notice isolate it', SHORT, async (t) => {
  // U+202E left open in a name reversed the rest of "... is paused: the checkout refuses it ...".
  const bidi = await openEnv();
  try {
    const name = 'SALE\u202e01';
    await publishWith(bidi, 'bidi', {
      id: 'bidi', name, status: 'active', codes: { type: 'static', code: 'BIDI10' },
      reward: { type: 'percentage', percent: '10', target: { type: 'order' } },
    });
    await withPage(bidi, t, async (page) => {
      await signIn(page, bidi);
      const isolated = `\u2068${name}\u2069`;
      assert.equal(await page.locator('#coupon-table tr[data-coupon="bidi"] td.name a').textContent(), isolated);
      await view(page, 'coupon', '#coupon/bidi');
      assert.equal(await page.locator('.title-row h1').textContent(), isolated);
      await page.getByRole('button', { name: 'Pause' }).click();
      await page.locator('#notice', { hasText: 'paused' }).waitFor();
      assert.equal(await page.locator('#notice').textContent(), `${isolated} is paused: the checkout refuses it from now on.`);
      await snap(page, t, 'console-bidi-name');
    });
  } finally {
    await bidi.close();
  }
});

test('a coupon with several code sources keeps them when the form edits something else', SHORT, async (t) => {
  // The form edits one code source; a coupon with several (a single code and unique codes) keeps
  // them as they are, and says so, instead of losing them on publish.
  const offline = await openEnv();
  try {
    const sources = [{ type: 'static', code: 'TEAM20' }, { type: 'bulk', prefix: 'NEWS', length: 12 }];
    await publishWith(offline, 'multi', {
      id: 'team-20', name: '20% for the team', status: 'active', codes: { type: 'multi', sources },
      reward: { type: 'percentage', percent: '20', target: { type: 'order' } }, limits: { per_user: 1 },
    });
    await withPage(offline, t, async (page) => {
      await signIn(page, offline);
      await view(page, 'edit', '#edit/team-20');
      assert.equal(await page.getByLabel('Several code sources (kept as they are)').isChecked(), true);
      await page.locator('.kept-notes, form', { hasText: 'Its several code sources' }).first().waitFor();
      await page.getByLabel('Percent').fill('25');
      // Priced with its first source, TEAM20: 25% of the sample cart's 109.49 of items.
      await page.locator('#preview-result tr[data-total="discount"][data-amount="27.37"]').waitFor();
      await page.getByRole('button', { name: 'Publish changes' }).click();
      await page.locator('#offline-sign:not([hidden])').waitFor();
      const exported = await downloadText(page, () => page.getByRole('button', { name: 'Download the version to sign' }).click());
      const edited = JSON.parse(exported.text).coupons.find((c) => c.id === 'team-20');
      assert.equal(edited.reward.percent, '25');
      assert.deepEqual(edited.codes, { type: 'multi', sources });
      assert.deepEqual(edited.limits, { per_user: 1 });
      await snap(page, t, 'console-multi-sources-kept');
    });
  } finally {
    await offline.close();
  }
});
