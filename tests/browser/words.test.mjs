// The shopper's words on the checkout page, in English and German: every reason the engine gives is
// said as a plain sentence from its code and details (www/messages.js), never as the engine's
// developer message; money and dates go through Intl in the shopper's locale; the tray's button
// agrees with whether the coupon applies; the confirmation shows an order number and what was
// saved; on a phone the total and Place order are in view without scrolling. Screenshots at 1280 and
// 390 px in both languages go to test-results/browser/words-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asShopper, openCheckout, priceInNode, requestFor, shop, shot, TEST_TIMEOUT, useEnv, withPage } from './helpers.mjs';

const env = useEnv();
const product = (id) => shop.products.find((p) => p.id === id);
const DE = { locale: 'de-DE' }; // navigator.languages = ['de-DE']: the page speaks German

/** Adds products by their data-product id (the button's words depend on the language). */
async function add(page, ids) {
  for (const id of ids) await page.locator(`#products [data-product="${id}"] button`).click();
}

async function enterCodes(page, text) {
  await page.locator('#code-input').fill(text);
  await page.locator('#code-input').press('Enter');
}

/** Money as the shopper's browser writes it (Intl in the page, not the page's own code). */
const moneyIn = (page, amount, currency = shop.currency) =>
  page.evaluate(([a, c]) => new Intl.NumberFormat(navigator.languages[0], { style: 'currency', currency: c }).format(a), [amount, currency]);

/** The text a shopper sees in the codes, tray and summary: never an engine message, id or backtick. */
async function assertNoDeveloperWords(page, engineMessages = []) {
  const text = await page.locator('main').innerText();
  assert.doesNotMatch(text, /`/, 'no backticks');
  assert.doesNotMatch(text, /\[[a-z, ]+\]/, 'no [list, of, ids]');
  assert.doesNotMatch(text, /No end date|verified in this browser|redemption/i);
  assert.doesNotMatch(text, /\b\d+\.\d\d [A-Z]{3}\b/, 'no "10.00 USD" money');
  for (const m of engineMessages) assert.ok(!text.includes(m), `the engine's message is not shown: ${m}`);
}

/** The reasons Node's engine gives for this cart and these codes (for the developer messages and details). */
async function reasonsFor(items, codes, user) {
  const request = requestFor(items, codes);
  const { evaluation } = await priceInNode(env.url, user === undefined ? request : { ...request, user });
  return Object.fromEntries(evaluation.rejected.map((r) => [r.code, r.reason]));
}

const cases = [
  {
    lang: 'en',
    options: {},
    unknown: 'This code isn’t valid. Check it and try again.',
    missing: (m, min) => `Add ${m} more to use this coupon (for orders of ${min} or more).`,
    shirts: 'Add at least 2 of one item from shirts to use this coupon.',
    signIn: 'Sign in to use this coupon: it can be used 2 times per customer.',
    signInSegment: 'Sign in to use this coupon: it is for selected customers.',
    added: 'Added',
    pending: 'Added, not applied yet',
    ends: 'Ends ',
    summary: (m) => `${m} off your order`,
    placeOrder: 'Place order',
    orderNumber: /Order number ([0-9A-Z]{5}-[0-9A-Z]{5})\./,
    saved: (m) => `You saved ${m}.`,
  },
  {
    lang: 'de',
    options: DE,
    unknown: 'Dieser Code ist nicht gültig. Bitte prüfen Sie ihn und versuchen Sie es erneut.',
    missing: (m, min) => `Noch ${m} bis zu diesem Gutschein (gilt für Bestellungen ab ${min}).`,
    shirts: 'Legen Sie mindestens 2 Stück eines Artikels aus Shirts in den Warenkorb, um diesen Gutschein zu nutzen.',
    signIn: 'Melden Sie sich an, um diesen Gutschein zu nutzen: Er gilt 2-mal pro Kunde.',
    signInSegment: 'Melden Sie sich an, um diesen Gutschein zu nutzen: Er gilt für ausgewählte Kunden.',
    added: 'Hinzugefügt',
    pending: 'Hinzugefügt, noch nicht eingelöst',
    ends: 'Endet am ',
    summary: (m) => `${m} Rabatt auf Ihre Bestellung`,
    placeOrder: 'Zahlungspflichtig bestellen',
    orderNumber: /Bestellnummer ([0-9A-Z]{5}-[0-9A-Z]{5})\./,
    saved: (m) => `Sie haben ${m} gespart.`,
  },
];

for (const c of cases) {
  test(`${c.lang}: a rejected code, a cart condition with the missing amount in local money, the tray's button state`, TEST_TIMEOUT, async (t) => {
    await withPage(env, t, async (page) => {
      await openCheckout(page, env.url);
      assert.equal(await page.evaluate(() => document.documentElement.lang), c.lang);
      // An empty cart: the tray says nothing about the cart (no "nothing to discount").
      await page.locator('#tray li[data-coupon]').first().waitFor();
      assert.doesNotMatch(await page.locator('#tray').innerText(), /discount|rabatt.*nichts|nothing/i);
      assert.equal(await page.locator('#tray li[data-state="available"] [data-tray-outcome]').count(), 0, 'no outcome for codes on an empty cart');

      await add(page, ['tee-white-m']);
      await enterCodes(page, 'nope, TENOFF, SHIRTS20');
      await page.locator('#codes [data-code="NOPE"] [data-outcome="rejected"]').waitFor();
      const reasons = await reasonsFor({ 'tee-white-m': 1 }, ['NOPE', 'TENOFF', 'SHIRTS20']);
      assert.equal(reasons.TENOFF.code, 'CART_CONDITION_FAILED');

      // A rejected code.
      const nope = page.locator('#codes [data-code="NOPE"] [data-outcome="rejected"]');
      assert.equal(await nope.innerText(), c.unknown);
      assert.equal(await nope.getAttribute('data-reason'), 'UNKNOWN_CODE');
      assert.equal(await nope.getAttribute('title'), reasons.NOPE.message, 'the engine message stays for developers');

      // A cart condition, with what is missing in the shopper's money format.
      const missing = c.missing(await moneyIn(page, reasons.TENOFF.missing), await moneyIn(page, reasons.TENOFF.expected));
      assert.equal(await page.locator('#codes [data-code="TENOFF"] [data-outcome="rejected"]').innerText(), missing);
      await page.locator('#breakdown [data-rejected="TENOFF"]', { hasText: missing }).waitFor();
      // A line condition (two shirts), said from the manifest's rule.
      assert.equal(await page.locator('#codes [data-code="SHIRTS20"] [data-outcome]').innerText(), c.shirts);

      // The tray: TENOFF is added but does not apply, and says so, with the reason.
      const tenoff = page.locator('#tray li[data-coupon="ten-off-75"]');
      assert.equal(await tenoff.getAttribute('data-state'), 'added');
      assert.equal(await tenoff.locator('button').innerText(), c.pending);
      assert.equal(await tenoff.locator('[data-tray-outcome]').innerText(), missing);
      assert.equal(await tenoff.locator('[data-summary]').innerText(), c.summary(await moneyIn(page, '10.00')));
      await assertNoDeveloperWords(page, Object.values(reasons).map((r) => r.message));
      await shot(page, t, `words-${c.lang}-1280-rejected`);

      // With a bigger cart it applies, and the button says just "Added".
      await add(page, ['runner-42']);
      await page.locator('#tray li[data-coupon="ten-off-75"][data-state="applied"]').waitFor();
      assert.equal(await tenoff.locator('button').innerText(), c.added);
    }, c.options);
  });

  test(`${c.lang}: sign-in required, said as what to do`, TEST_TIMEOUT, async (t) => {
    await withPage(env, t, async (page) => {
      await openCheckout(page, env.url);
      await add(page, ['runner-42']);
      await enterCodes(page, 'TENOFF, WELCOME10');
      const tenoff = page.locator('#codes [data-code="TENOFF"] [data-outcome="sign-in"]');
      await tenoff.waitFor();
      const reasons = await reasonsFor({ 'runner-42': 1 }, ['TENOFF', 'WELCOME10'], null);
      assert.equal(reasons.TENOFF.needs, 'per_user_limit');
      assert.equal(await tenoff.innerText(), c.signIn);
      assert.equal(await page.locator('#codes [data-code="WELCOME10"] [data-outcome="sign-in"]').innerText(), c.signInSegment);
      await page.locator('#breakdown [data-sign-in="TENOFF"]').waitFor();
      await assertNoDeveloperWords(page, Object.values(reasons).map((r) => r.message));
      await shot(page, t, `words-${c.lang}-anonymous`);
    }, { ...c.options, backend: null });
  });
}

// Last tests of the file: they assign a coupon and place orders in the Worker this file shares.
test('an end date: "Ends …" in each language, only on coupons that end', TEST_TIMEOUT, async (t) => {
  const admin = (route, body, type) =>
    fetch(`${env.url}${route}`, { method: 'POST', headers: { authorization: `Bearer ${env.worker.adminToken}`, 'content-type': type }, body });
  const user = shop.user.context.id;
  const code = 'BACK4M7QX2PD';
  const assignedAt = new Date(Date.now() - 3600e3).toISOString().replace(/\.\d{3}Z$/, 'Z');
  assert.equal((await admin('/admin/coupons/comeback-15/codes', `code\n${code}\n`, 'text/csv')).status, 201);
  const line = { coupon_id: 'comeback-15', user_id: user, assigned_at: assignedAt, code };
  assert.equal((await admin('/admin/assignments', `${JSON.stringify(line)}\n`, 'application/x-ndjson')).status, 201);
  const edgeTray = await (await fetch(`${env.url}/coupons?user=${user}`, { headers: await asShopper(env) })).json();
  const expiresAt = edgeTray.find((e) => e.coupon_id === 'comeback-15').expires_at;
  assert.equal(Date.parse(expiresAt), Date.parse(assignedAt) + 48 * 3600e3);

  for (const c of cases) {
    await withPage(env, t, async (page) => {
      await openCheckout(page, env.url);
      const entry = page.locator('#tray li[data-coupon="comeback-15"]');
      await entry.waitFor();
      // Within a week: the day, the month and the time, in the browser's locale and zone.
      const when = await page.evaluate((iso) => new Intl.DateTimeFormat(navigator.languages[0], { day: 'numeric', month: 'short', hour: 'numeric', minute: '2-digit' }).format(new Date(iso)), expiresAt);
      assert.equal(await entry.locator('[data-dates]').innerText(), `${c.ends}${when}`);
      // Coupons without an end say nothing about it.
      assert.equal(await page.locator('#tray li[data-coupon="shoes-15"] [data-dates]').count(), 0);
      await add(page, ['runner-42', 'tee-white-m']);
      await page.locator('#tray li[data-coupon="comeback-15"][data-applies="true"]').waitFor();
      await assertNoDeveloperWords(page);
      await shot(page, t, `words-${c.lang}-1280`);
    }, c.options);
  }
});

test('the confirmation: an order number and what was saved, no redemption id, in each language', TEST_TIMEOUT, async (t) => {
  for (const c of cases) {
    await withPage(env, t, async (page) => {
      await openCheckout(page, env.url);
      await page.locator('#signed-in:not(:empty)').waitFor();
      await add(page, ['runner-42']);
      await enterCodes(page, 'SHOES15');
      await page.locator('#codes [data-code="SHOES15"] [data-outcome="applied"]').waitFor();
      const discount = await page.locator('#breakdown tr[data-total="discount"]').getAttribute('data-amount');
      await page.getByRole('button', { name: c.placeOrder }).click();
      const placed = page.locator('#order-status[data-state="placed"]');
      await placed.locator('[data-confirmed="same"]').waitFor();
      const text = await placed.innerText();
      const redemption = await placed.locator('[data-redemption]').getAttribute('data-redemption');
      assert.ok(redemption, 'the redemption id is kept in a data attribute');
      assert.ok(!text.includes(redemption), 'but not shown');
      assert.doesNotMatch(text, /[0-9a-f]{8}-[0-9a-f]{4}-/, 'no UUID on the page');
      const number = c.orderNumber.exec(text)?.[1];
      assert.ok(number, `an order number in "${text}"`);
      assert.equal(await placed.locator('[data-order-number]').getAttribute('data-order-number'), number);
      assert.ok(text.includes(c.saved(await moneyIn(page, discount))), `what was saved, in "${text}"`);
      await placed.scrollIntoViewIfNeeded();
      await shot(page, t, `words-${c.lang}-order-placed`);
    }, c.options);
  }
});

for (const c of cases) {
  test(`${c.lang}: on a phone (390 x 844) the total and Place order are in view without scrolling`, TEST_TIMEOUT, async (t) => {
    await withPage(
      env,
      t,
      async (page) => {
        await openCheckout(page, env.url);
        await add(page, ['runner-42', 'tote-canvas', 'socks-3']);
        await enterCodes(page, 'SHOES15, TENOFF, NOPE');
        await page.locator('#codes [data-code="NOPE"] [data-outcome]').waitFor();
        await page.evaluate(() => window.scrollTo(0, 0));
        const total = await page.locator('#breakdown tr[data-total="total"]').getAttribute('data-amount');
        const inView = await page.evaluate(() => {
          const box = (sel) => document.querySelector(sel).getBoundingClientRect().toJSON();
          return { scrollY: window.scrollY, height: window.innerHeight, width: window.innerWidth, total: box('#bar-total'), button: box('#place-order'), doc: document.documentElement.scrollHeight };
        });
        assert.equal(inView.scrollY, 0, 'not scrolled');
        assert.ok(inView.doc > inView.height * 2, `a long page (${inView.doc} px), yet:`);
        for (const [what, b] of [['total', inView.total], ['Place order', inView.button]]) {
          assert.ok(b.top >= 0 && b.bottom <= inView.height && b.left >= 0 && b.right <= inView.width && b.height > 0, `${what} in the first viewport: ${JSON.stringify(b)}`);
        }
        assert.equal(await page.locator('#bar-total').getAttribute('data-amount'), total);
        assert.ok((await page.locator('#bar-total').innerText()).includes(await moneyIn(page, total)), 'the bar shows the total in local money');
        assert.ok(await page.getByRole('button', { name: c.placeOrder }).isEnabled());
        const { sw, cw } = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth }));
        assert.ok(sw <= cw, `no horizontal scroll (${sw} > ${cw})`);
        await page.screenshot({ path: `${(await import('./helpers.mjs')).SHOTS}/words-${c.lang}-390-viewport.png` });
        await shot(page, t, `words-${c.lang}-390`);
      },
      { ...c.options, viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
    );
  });
}
