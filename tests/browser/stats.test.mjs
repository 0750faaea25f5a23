// The stats page (www/stats.html) against the real Worker: an order placed on the checkout and then
// reverted shows up in the charts, per day, week and month, as GET /stats reports it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openCheckout, useEnv, shop, shot, TEST_TIMEOUT, withPage } from './helpers.mjs';

const env = useEnv();

/** The bars of one coupon's chart: { period: value } (values as the page drew them). */
const bars = (page, coupon, series) =>
  page
    .locator(`[data-coupon="${coupon}"] figure[data-series="${series}"] rect[data-period]`)
    .evaluateAll((els) => Object.fromEntries(els.map((e) => [e.dataset.period, e.dataset.value])));

async function showStats(page, granularity) {
  const before = await page.locator('body').getAttribute('data-loaded');
  if (granularity) await page.getByLabel('Group by').selectOption(granularity);
  await page.getByRole('button', { name: 'Show' }).click();
  await page.waitForFunction((b) => document.body.dataset.loaded && document.body.dataset.loaded !== b, before);
}

test('stats: an order and its revert change the charts of redemptions, discount, GMV and rollbacks', TEST_TIMEOUT, async (t) => {
  await withPage(env, t, async (stats, context) => {
    await stats.goto(`${env.url}/stats.html`);
    await stats.locator('body[data-loaded]').waitFor();
    // One section per coupon of the manifest, each with its four charts.
    const ids = await stats.locator('section[data-coupon]').evaluateAll((els) => els.map((e) => e.dataset.coupon));
    const manifest = JSON.parse(Buffer.from((await (await fetch(`${env.url}/manifest`)).text()).split('.')[1], 'base64url'));
    assert.deepEqual(ids, manifest.coupons.map((c) => c.id));
    const series = await stats.locator('[data-coupon="shoes-15"] figure').evaluateAll((els) => els.map((e) => e.dataset.series));
    assert.deepEqual(series, ['redemptions', 'discount_given', 'gross_merchandise_value', 'rollbacks']);
    const today = new Date().toISOString().slice(0, 10);
    const days = await bars(stats, 'shoes-15', 'redemptions');
    assert.equal(Object.keys(days).length, 30, 'a bar for every day of the last 30, empty or not');
    assert.equal(days[today], '0');

    // An order with SHOES15 on the checkout, in another tab.
    const shop_ = await context.newPage();
    await openCheckout(shop_, env.url);
    await shop_.getByRole('button', { name: `Add ${shop.products[0].name} to cart` }).click();
    await shop_.getByLabel('Enter one or more codes').fill('SHOES15');
    await shop_.getByLabel('Enter one or more codes').press('Enter');
    await shop_.locator('#codes [data-outcome="applied"]').waitFor();
    const [response] = await Promise.all([
      shop_.waitForResponse((r) => new URL(r.url()).pathname === '/redemptions'),
      shop_.getByRole('button', { name: 'Place order' }).click(),
    ]);
    const placed = await response.json();
    // The page reserved; the shop's backend confirmed once it had the payment.
    await shop_.locator('#order-status[data-state="placed"]').waitFor();
    const discount = placed.redemption.coupons.find((c) => c.coupon_id === 'shoes-15').discount;
    // Closed when done: a tab behind another gets about one animation frame a second from Chromium,
    // and every click and wait on the stats page (Playwright's checks run on animation frames) would
    // crawl behind it.
    await shop_.close();

    await showStats(stats);
    assert.equal((await bars(stats, 'shoes-15', 'redemptions'))[today], '1');
    assert.equal((await bars(stats, 'shoes-15', 'discount_given'))[today], discount);
    assert.equal((await bars(stats, 'shoes-15', 'gross_merchandise_value'))[today], placed.evaluation.totals.subtotal);
    assert.equal((await bars(stats, 'shoes-15', 'rollbacks'))[today], '0');
    // The page draws exactly what the API reports.
    const api = await (await fetch(`${env.url}/stats/shoes-15?granularity=day`)).json();
    const row = api.periods.find((p) => p.period === today);
    assert.equal(row.redemptions, 1);
    assert.equal(row.discount_given, discount);
    // The bar for today is the tallest (the only one), and says its value to screen readers.
    const label = await stats.locator('[data-coupon="shoes-15"] figure[data-series="redemptions"] svg').getAttribute('aria-label');
    assert.match(label, new RegExp(`Redemptions: 1 in all over 30 periods, highest 1 in ${today}`));

    // The order is cancelled (the shop's backend reverts it with its server credential): the use is
    // given back and counted as a rollback.
    const revert = await fetch(`${env.url}/redemptions/${placed.redemption.id}/revert`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.worker.redeemToken}` },
    });
    assert.equal(revert.status, 200);
    await showStats(stats);
    assert.equal((await bars(stats, 'shoes-15', 'rollbacks'))[today], '1');
    assert.equal((await bars(stats, 'shoes-15', 'redemptions'))[today], '0');

    // Per week and per month: fewer, wider periods with the same totals.
    await showStats(stats, 'month');
    const months = await bars(stats, 'shoes-15', 'rollbacks');
    assert.ok(Object.keys(months).length <= 2 && Object.keys(months).every((m) => /^\d{4}-\d{2}$/.test(m)));
    assert.equal(months[today.slice(0, 7)], '1');
    await showStats(stats, 'week');
    const weeks = await bars(stats, 'shoes-15', 'rollbacks');
    assert.ok(Object.keys(weeks).every((w) => /^\d{4}-W\d{2}$/.test(w)) && Object.keys(weeks).length >= 5);
    assert.deepEqual(Object.values(weeks).filter((v) => v !== '0'), ['1']);
    await shot(stats, t, 'stats-week');

    // Phone width: the charts fit.
    await stats.setViewportSize({ width: 375, height: 812 });
    const { sw, cw } = await stats.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth }));
    assert.ok(sw <= cw, `no horizontal scroll on the stats page (${sw} > ${cw})`);
  });
});
