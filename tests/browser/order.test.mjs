// Placing orders from the checkout page against the real Worker and the shop backend stand-in: the
// page reserves (POST /redemptions with a hold and an Idempotency-Key), the backend confirms; retries
// and double clicks that never redeem twice, and the page explaining why the shop's amounts differ
// from the preview (a limit reached meanwhile, a coupon paused at the edge).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  asShopper, openCheckout, useEnv, readBreakdown, shop, shot, TEST_TIMEOUT, withPage,
} from './helpers.mjs';

const env = useEnv();

const product = (id) => shop.products.find((p) => p.id === id);

async function fill(page, items, codes) {
  for (const [id, quantity] of Object.entries(items)) {
    await page.getByRole('button', { name: `Add ${product(id).name} to cart` }).click();
    if (quantity !== 1) {
      await page.getByLabel(`Quantity of ${product(id).name}`).fill(String(quantity));
      await page.getByLabel(`Quantity of ${product(id).name}`).press('Enter');
    }
  }
  if (codes) {
    await page.getByLabel('Enter one or more codes').fill(codes);
    await page.getByLabel('Enter one or more codes').press('Enter');
    await page.locator('#codes [data-outcome]').first().waitFor();
  }
}

/** The coupon's counters as GET /stats reports them today (summed over the default 30 days). */
async function statsOf(couponId) {
  const res = await fetch(`${env.url}/stats/${couponId}?granularity=month`);
  assert.equal(res.status, 200);
  const { periods } = await res.json();
  return {
    redemptions: periods.reduce((a, p) => a + p.redemptions, 0),
    discount: periods.map((p) => p.discount_given),
  };
}

/** Every POST /redemptions the page sends: its Idempotency-Key and body. */
function recordOrders(page) {
  const sent = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/redemptions') {
      sent.push({ key: r.headers()['idempotency-key'], body: r.postData() });
    }
  });
  return sent;
}

test('an order is placed once: double click, lost answer and retry, replay; the shop confirms the amounts', TEST_TIMEOUT, async (t) => {
  await withPage(env, t, async (page) => {
    await openCheckout(page, env.url);
    await fill(page, { 'runner-42': 1, 'tee-white-m': 2 }, 'SHOES15, FLASH30');
    const preview = await readBreakdown(page);
    const sent = recordOrders(page);
    const before = await statsOf('shoes-15');

    // The first answer is lost on the way back (the Worker did redeem): the page cannot know.
    let first;
    await page.route('**/redemptions', async (route) => {
      const res = await route.fetch();
      first = { status: res.status(), body: await res.json() };
      await route.abort('connectionreset');
    }, { times: 1 });
    // A double click sends one request: the button is disabled while it is out.
    await page.getByRole('button', { name: 'Place order' }).dblclick();
    await page.locator('#order-status[data-state="network"][role="alert"]').waitFor();
    assert.equal(sent.length, 1, 'one request for a double click');
    assert.equal(first.status, 201);
    assert.equal(first.body.redemption.status, 'reserved', 'the page only reserves; the shop confirms');
    assert.match(sent[0].key, /^[0-9a-f-]{36}$/);
    const body = JSON.parse(sent[0].body);
    assert.deepEqual(body.codes, ['SHOES15'], 'only the codes that apply are sent (FLASH30 is paused)');
    assert.equal(body.hold, 'PT15M');
    assert.ok(body.order_id);

    // Retrying is safe: the same key and the same bytes, and the Worker replays its first answer.
    await page.getByRole('button', { name: 'Place order' }).click();
    const placed = page.locator('#order-status[data-state="placed"]');
    await placed.waitFor();
    assert.equal(sent.length, 2);
    assert.equal(sent[1].key, sent[0].key, 'the retry reuses the Idempotency-Key');
    assert.equal(sent[1].body, sent[0].body, 'and the exact body');
    const redemptionId = first.body.redemption.id;
    assert.equal(await placed.locator('[data-redemption]').getAttribute('data-redemption'), redemptionId);
    assert.match(await placed.innerText(), /already received this order; it was placed once/);
    assert.equal(await placed.locator('[data-redemption]').getAttribute('data-redemption-status'), 'redeemed', 'confirmed by the shop');

    // The confirmed amounts are the shop's, and here they are the preview's.
    const confirmed = await readBreakdown(page, '#order-status');
    assert.deepEqual(confirmed.totals, first.body.evaluation.totals);
    assert.deepEqual(confirmed.totals, preview.totals);
    // Named from what was ordered, though the cart is empty now.
    for (const row of await placed.locator('table tbody tr[data-line^="line-"] th').allInnerTexts()) assert.match(row, / × \d+$/);
    assert.ok(await placed.locator('table tbody tr[data-line^="line-"]').count() > 0);
    await placed.locator('[data-confirmed="same"]').waitFor();

    // Replayed once more by hand, as the same shopper: the same answer, nothing redeemed again.
    const replay = await fetch(`${env.url}/redemptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': sent[0].key, ...(await asShopper(env)) },
      body: sent[0].body,
    });
    assert.equal(replay.status, 201);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal((await replay.json()).redemption.id, redemptionId);
    const afterStats = await statsOf('shoes-15');
    assert.equal(afterStats.redemptions, before.redemptions + 1, 'redeemed exactly once');

    // The cart is empty for the next order, and the next order gets a new key.
    await page.locator('#cart-empty').waitFor();
    await shot(page, t, 'order-placed');
  });
});

test('a limit reached since the preview: the order is refused with the reason, then placed without the code', TEST_TIMEOUT, async (t) => {
  await withPage(env, t, async (page) => {
    await openCheckout(page, env.url);
    // WELCOME10 is once per customer. The first order uses it...
    await fill(page, { 'cap-navy': 1 }, 'WELCOME10');
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.locator('#order-status[data-state="placed"] [data-confirmed="same"]').waitFor();

    // ...and the page, which has no counters, still previews it for the second order.
    await fill(page, { 'tote-canvas': 2 }, 'WELCOME10');
    await page.locator('#codes [data-code="WELCOME10"] [data-outcome="applied"]').waitFor();
    const preview = await readBreakdown(page);
    const sent = recordOrders(page);
    const [answer] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/redemptions'),
      page.getByRole('button', { name: 'Place order' }).click(),
    ]);
    const refused = page.locator('#order-status[data-state="codes-refused"][role="alert"]');
    await refused.waitFor();
    const text = await refused.innerText();
    assert.match(text, /Order not placed: the shop no longer accepts WELCOME10/);
    // The reason is the engine's, run at the edge with the live counters: the page says it in the
    // shopper's words from its code and details, and keeps the engine's message in the title.
    assert.equal(answer.status(), 409);
    const edgeReason = (await answer.json()).error.rejected.find((r) => r.code === 'WELCOME10')?.reason;
    assert.equal(edgeReason?.code, 'USER_LIMIT_REACHED');
    assert.equal(await refused.locator('[data-refused="WELCOME10"]').innerText(), 'WELCOME10: You have already used this offer.');
    assert.equal(await refused.locator('[data-refused="WELCOME10"]').getAttribute('title'), edgeReason.message);
    await page.locator('#breakdown [data-rejected="WELCOME10"][data-refused-by="shop"]').waitFor();
    const without = await readBreakdown(page);
    assert.equal(without.totals.discount !== preview.totals.discount, true, 'the preview is priced again without it');
    assert.match(text, new RegExp(`your total is \\$${without.totals.total}`));

    // Placing it now sends a new attempt (new key, without the code) and goes through.
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.locator('#order-status[data-state="placed"] [data-confirmed="same"]').waitFor();
    assert.equal(sent.length, 2);
    assert.notEqual(sent[1].key, sent[0].key, 'a refused attempt is over: the next one has its own key');
    assert.deepEqual(JSON.parse(sent[1].body).codes, []);
    assert.deepEqual((await readBreakdown(page, '#order-status')).totals, without.totals);
  });
});

test('a coupon paused at the edge after the preview: the page says so and prices without it', TEST_TIMEOUT, async (t) => {
  const setStatus = (status) =>
    fetch(`${env.url}/admin/coupons/ten-off-75/status`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${env.worker.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ status }),
    });
  await withPage(env, t, async (page) => {
    await openCheckout(page, env.url);
    await fill(page, { 'runner-42': 1 }, 'TENOFF');
    await page.locator('#codes [data-code="TENOFF"] [data-outcome="applied"]').waitFor();
    assert.equal((await setStatus('paused')).status, 200);
    try {
      await page.getByRole('button', { name: 'Place order' }).click();
      const refused = page.locator('#order-status[data-state="codes-refused"]');
      await refused.waitFor();
      assert.match(await refused.innerText(), /TENOFF: This offer is paused for now/);
      await page.locator('#codes [data-code="TENOFF"]', { hasText: 'paused' }).waitFor();
      await shot(page, t, 'order-refused-paused');
      // After a reload the refusal is remembered, and the tray (the Worker's, when online) no longer
      // offers the paused coupon.
      await page.reload();
      await page.locator('#tray li[data-coupon]').first().waitFor();
      await page.waitForFunction(() => !document.querySelector('#tray li[data-coupon="ten-off-75"]'));
      await page.locator('#codes [data-code="TENOFF"]', { hasText: 'paused' }).waitFor();
      assert.equal(await page.locator('#codes [data-code="TENOFF"] [data-outcome="applied"]').count(), 0);
    } finally {
      await setStatus('active');
    }
  });
});
