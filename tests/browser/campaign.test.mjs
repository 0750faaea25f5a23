// A campaign coupon reaching an open checkout: the shop's backend sends a `cart_abandoned` event
// (POST /events), the Worker gives the demo user comeback-15 with a code from its pool, and the page
// lists it in the tray, marked new, with that code, once the shopper comes back to the tab.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openCheckout, useEnv, priceInNode, requestFor, shop, shot, TEST_TIMEOUT, withPage } from './helpers.mjs';

const env = useEnv();

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

test('tray: a coupon a cart_abandoned event gives the shopper appears in the open page, new, with its pooled code', TEST_TIMEOUT, async (t) => {
  const send = (method, route, body, type = 'application/json') =>
    fetch(`${env.url}${route}`, { method, headers: { authorization: `Bearer ${env.worker.adminToken}`, 'content-type': type }, body });
  const user = shop.user.context.id;
  const code = 'BACK9QW3ZK7M'; // comeback-15's format: BACK + 8
  assert.equal((await send('POST', '/admin/coupons/comeback-15/codes?pool=true', `code\n${code}\n`, 'text/csv')).status, 201);

  await withPage(env, t, async (page) => {
    await openCheckout(page, env.url);
    await page.locator('#tray li').first().waitFor();
    assert.equal(await page.locator('#tray li[data-coupon="comeback-15"]').count(), 0, 'not given yet');

    // Abandoned two hours ago: the coupon is sent an hour after (its delay), so it is live now.
    const event = { id: `abandon-${Date.now()}`, user_id: user, name: 'cart_abandoned', at: iso(Date.now() - 2 * 3600e3), properties: { cart_value: '64.00' } };
    const res = await send('POST', '/events', JSON.stringify(event));
    assert.equal(res.status, 201);
    const given = await res.json();
    assert.deepEqual(given.assigned.map((a) => [a.coupon_id, a.code]), [['comeback-15', code]]);

    // The shopper comes back to the tab: the page asks the Worker again and lists the coupon.
    await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
    const entry = page.locator('#tray li[data-coupon="comeback-15"][data-new="true"]');
    await entry.waitFor();
    assert.match(await entry.innerText(), /New/);
    await page.getByRole('button', { name: `Apply Come back: 15% off (code ${code})` }).waitFor();
    // Valid 48 hours from the assignment, as the engine in Node says for the same user.
    const assigned = { ...shop.user.context, assignments: [{ coupon_id: 'comeback-15', assigned_at: given.assigned[0].assigned_at, code }] };
    const { tray } = await priceInNode(env.url, { ...requestFor({}), user: assigned });
    assert.equal(Date.parse(tray.find((e) => e.coupon_id === 'comeback-15').expires_at), Date.parse(event.at) + 49 * 3600e3);
    await shot(page, t, 'checkout-campaign-coupon');

    // The same event again (a retry) changes nothing: the same answer, no second code.
    const replay = await send('POST', '/events', JSON.stringify(event));
    assert.equal(replay.status, 200);
    assert.deepEqual(await replay.json(), given);
  });
});
