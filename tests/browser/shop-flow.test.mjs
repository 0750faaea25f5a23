// The whole order flow with the shop's backend (scripts/demo-shop.mjs) beside the real Worker: the
// page signs in with the backend's token, reserves the coupon uses, the backend takes the payment and
// confirms; a declined payment reverts and the uses come back; and a page without a backend is an
// anonymous shopper's, whose coupons for signed-in shoppers say "sign in" instead of an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '../node/helpers.mjs';
import { mintShopperToken } from '../../scripts/demo-shop.mjs';
import { openCheckout, readBreakdown, shop, shot, TEST_TIMEOUT, useEnv, withPage } from './helpers.mjs';

const env = useEnv();
const user = shop.user.context.id;
const product = (id) => shop.products.find((p) => p.id === id);

async function fill(page, items, codes) {
  for (const [id] of Object.entries(items)) await page.getByRole('button', { name: `Add ${product(id).name} to cart` }).click();
  if (codes) {
    await page.getByLabel('Enter one or more codes').fill(codes);
    await page.getByLabel('Enter one or more codes').press('Enter');
    await page.locator('#codes [data-outcome]').first().waitFor();
  }
}

/** The authoritative counters of a coupon, for the demo user too (admin API). */
async function counters(couponId) {
  const res = await fetch(`${env.url}/admin/coupons/${couponId}/counters?user=${encodeURIComponent(user)}`, {
    headers: { authorization: `Bearer ${env.worker.adminToken}` },
  });
  assert.equal(res.status, 200);
  return res.json();
}

/** A redemption as the shop's backend reads it (server credential). */
async function redemption(id) {
  const res = await fetch(`${env.url}/redemptions/${id}`, { headers: { authorization: `Bearer ${env.worker.redeemToken}` } });
  assert.equal(res.status, 200);
  return (await res.json()).redemption;
}

/** Every request the page sends to the Worker or the backend: method, path, whether it carried a token. */
function recordRequests(page) {
  const sent = [];
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (r.method() === 'OPTIONS' || url.pathname.startsWith('/pkg/') || /\.(js|css|json)$/.test(url.pathname)) return;
    sent.push({ method: r.method(), origin: url.origin, path: url.pathname, auth: r.headers().authorization ?? null, body: r.postData() });
  });
  return sent;
}

test('an order: the page reserves with the shopper token, the shop backend takes the payment and confirms, the order shows', TEST_TIMEOUT, async (t) => {
  await withPage(env, t, async (page) => {
    const sent = recordRequests(page);
    await openCheckout(page, env.url);
    await page.locator('#signed-in', { hasText: `Signed in as ${shop.user.display_name}` }).waitFor();
    await fill(page, { 'runner-42': 1 }, 'SHOES15');
    await page.locator('#codes [data-code="SHOES15"] [data-outcome="applied"]').waitFor();
    const preview = await readBreakdown(page);
    const before = await counters('shoes-15');

    await page.getByRole('button', { name: 'Place order' }).click();
    const placed = page.locator('#order-status[data-state="placed"]');
    await placed.locator('[data-confirmed="same"]').waitFor();

    // Every call about the user carried the token the backend signed; the session came from the backend.
    const toWorker = sent.filter((r) => r.origin === env.url);
    for (const path of [`/users/${user}/context`, '/coupons', '/redemptions']) {
      const calls = toWorker.filter((r) => r.path === path);
      assert.ok(calls.length > 0, `the page called ${path}`);
      for (const c of calls) assert.match(c.auth ?? '', /^Bearer ey/, `${path} carries the shopper token`);
    }
    assert.ok(sent.some((r) => r.origin === env.backend.url && r.path === '/session'));
    // Reserve at the Worker, then pay at the backend with the reservation's id.
    const reserve = toWorker.find((r) => r.method === 'POST' && r.path === '/redemptions');
    const order = sent.find((r) => r.origin === env.backend.url && r.method === 'POST' && r.path === '/orders');
    assert.equal(JSON.parse(reserve.body).hold, 'PT15M');
    assert.ok(order && sent.indexOf(order) > sent.indexOf(reserve), 'the order is paid after the reservation');
    const id = JSON.parse(order.body).redemption_id;
    assert.equal(await placed.locator('[data-redemption]').getAttribute('data-redemption'), id);

    // At the Worker: confirmed, counted once, and the page shows the shop's amounts.
    const r = await redemption(id);
    assert.equal(r.status, 'redeemed');
    // The shopper sees the order number and what was saved; the redemption is the shop's business.
    assert.match(await placed.innerText(), new RegExp(`Order number ${r.order_id}\\.`));
    assert.doesNotMatch(await placed.innerText(), new RegExp(id));
    assert.equal(await placed.locator('[data-redemption]').getAttribute('data-redemption-status'), 'redeemed');
    const after = await counters('shoes-15');
    assert.equal(after.redemptions, before.redemptions + 1);
    assert.deepEqual((await readBreakdown(page, '#order-status')).totals, preview.totals);

    await placed.scrollIntoViewIfNeeded();
    await shot(page, t, 'order-placed-1280');
    await page.setViewportSize({ width: 390, height: 844 });
    const { sw, cw } = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth }));
    assert.ok(sw <= cw, `no horizontal scroll at 390 px (${sw} > ${cw})`);
    await shot(page, t, 'order-placed-390');
  });
});

test('a declined payment: the backend reverts the reservation, the uses come back, the next try places the order', TEST_TIMEOUT, async (t) => {
  await withPage(env, t, async (page) => {
    await openCheckout(page, env.url);
    await page.locator('#signed-in', { hasText: 'Signed in as' }).waitFor();
    await fill(page, { 'runner-42': 1 }, 'SHOES15');
    await page.locator('#codes [data-code="SHOES15"] [data-outcome="applied"]').waitFor();
    const before = await counters('shoes-15');

    // The payment is declined (the stand-in's switch, set on the way out). While the order is with
    // the backend, the reservation holds the use.
    let held;
    const keys = [];
    page.on('request', (r) => r.method() === 'POST' && new URL(r.url()).pathname === '/redemptions' && keys.push(r.headers()['idempotency-key']));
    await page.route(`${env.backend.url}/orders`, async (route) => {
      if (route.request().method() !== 'POST') return route.fallback();
      held = await counters('shoes-15');
      await route.continue({ postData: JSON.stringify({ ...route.request().postDataJSON(), fail_payment: true }) });
    }, { times: 1 });
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${env.backend.url}/orders` && r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Place order' }).click(),
    ]);
    assert.equal(answer.status(), 402);
    const id = JSON.parse(answer.request().postData()).redemption_id;
    const failed = page.locator('#order-status[data-state="payment-failed"][role="alert"]');
    await failed.waitFor();
    assert.match(await failed.innerText(), /Payment failed: the order was not placed/);
    assert.equal(held.redemptions, before.redemptions + 1, 'the reservation held the use');
    assert.equal((await redemption(id)).status, 'reverted');
    const back = await counters('shoes-15');
    assert.equal(back.redemptions, before.redemptions, 'the use came back');
    assert.equal(back.user_redemptions ?? 0, before.user_redemptions ?? 0);
    // The cart is kept, and the code still applies.
    await page.locator('#codes [data-code="SHOES15"] [data-outcome="applied"]').waitFor();
    await shot(page, t, 'order-payment-failed');

    // Again: a new attempt (a new key: the reverted one is over), paid this time.
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.locator('#order-status[data-state="placed"] [data-confirmed="same"]').waitFor();
    assert.equal(keys.length, 2);
    assert.notEqual(keys[1], keys[0]);
    assert.equal((await counters('shoes-15')).redemptions, before.redemptions + 1);
  });
});

test('a token the Worker refuses (401 SHOPPER_TOKEN_INVALID) is replaced by a new one from the backend, once', TEST_TIMEOUT, async (t) => {
  await withPage(env, t, async (page) => {
    // The first session the page gets is signed with a key the Worker does not trust (as after a
    // key rotation): its first call about the user is refused, and the page asks the backend again.
    const rogue = await mintShopperToken(generateKeyPair('rotated-away').privateJwk, user);
    await page.route(`${env.backend.url}/session`, (route) =>
      route.fulfill({ json: { user_id: user, display_name: shop.user.display_name, ...rogue }, headers: { 'access-control-allow-origin': env.url } }), { times: 1 });
    const sessions = [];
    const refused = [];
    page.on('request', (r) => new URL(r.url()).pathname === '/session' && sessions.push(r.url()));
    page.on('response', async (r) => {
      if (r.status() === 401) refused.push({ path: new URL(r.url()).pathname, code: (await r.json().catch(() => null))?.error?.code });
    });
    await openCheckout(page, env.url);
    await page.locator('#signed-in', { hasText: 'Signed in as' }).waitFor();
    await page.getByRole('button', { name: `Add ${product('runner-42').name} to cart` }).click();
    // Priced with the profile after all (gold: the service fee is waived), and no note about it.
    await page.locator('#breakdown tr[data-line="fee-service_fee"][data-discount="2.00"]').waitFor();
    assert.equal(await page.locator('[data-profile-note]').count(), 0);
    assert.deepEqual(refused, [{ path: `/users/${user}/context`, code: 'SHOPPER_TOKEN_INVALID' }]);
    assert.equal(sessions.length, 2, 'one more session, not a loop');
  });
});

test('without a backend the page is anonymous: coupons for everyone price, one for signed-in shoppers says "sign in"', TEST_TIMEOUT, async (t) => {
  await withPage(env, t, async (page) => {
    const sent = recordRequests(page);
    await openCheckout(page, env.url);
    await page.locator('#signed-in', { hasText: 'Not signed in' }).waitFor();
    // ACCESS5 is for every shopper; WELCOME10 is once per customer, so it needs to know who.
    await fill(page, { 'cap-navy': 1 }, 'ACCESS5, WELCOME10');
    await page.locator('#codes [data-code="ACCESS5"] [data-outcome="applied"]').waitFor();
    const welcome = page.locator('#codes [data-code="WELCOME10"] [data-outcome="sign-in"]');
    await welcome.waitFor();
    assert.match(await welcome.innerText(), /^Sign in/);
    assert.equal(await welcome.getAttribute('class'), 'small muted', 'said as what to do, not as an error');
    await page.locator('#breakdown [data-sign-in="WELCOME10"]').waitFor();
    assert.equal(await page.locator('#breakdown [data-rejected="WELCOME10"]').count(), 0, 'not among the codes refused');

    // The Worker prices an anonymous shopper the same, with the same reason.
    const request = {
      cart: { currency: shop.currency, lines: [{ id: 'line-cap-navy', product_id: 'cap-navy', quantity: 1, unit_price: product('cap-navy').unit_price, attributes: product('cap-navy').attributes }], shipping: shop.shipping, fees: shop.fees, attributes: { payment_method: shop.payment_methods[0].id } },
      codes: ['ACCESS5', 'WELCOME10'],
    };
    const edge = await (await fetch(`${env.url}/evaluate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) })).json();
    const reason = edge.rejected.find((r) => r.code === 'WELCOME10')?.reason;
    assert.equal(reason?.code, 'SIGN_IN_REQUIRED');
    assert.deepEqual((await readBreakdown(page)).totals, edge.totals);
    // The words are the page's, from the reason's code and details; the engine's message stays in the title.
    assert.equal(reason.needs, 'segment');
    assert.equal(await welcome.innerText(), 'Sign in to use this coupon: it is for selected customers.');
    assert.equal(await welcome.getAttribute('title'), reason.message);

    // Tray entries that need a user say so, without an error.
    const needSignIn = await page.locator('#tray li[data-sign-in="true"]').allInnerTexts();
    assert.ok(needSignIn.length > 0);
    for (const text of needSignIn) assert.match(text, /Sign in/);
    // Nothing about a user reached the Worker, and ordering is refused before anything is reserved.
    assert.ok(sent.every((r) => r.auth === null && !r.path.startsWith('/users/')), JSON.stringify(sent));
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.locator('#order-status[data-state="no-backend"][role="alert"]').waitFor();
    assert.equal(sent.filter((r) => r.method === 'POST').length, 0, 'nothing was reserved');
    await shot(page, t, 'checkout-anonymous');
  }, { backend: null });
});
