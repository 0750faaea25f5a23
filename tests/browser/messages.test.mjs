// www/messages.js in Node: a shopper's sentence for every reason code of docs/errors.md, in every
// language, with details and without them, and for the reasons the engine really gives on the demo
// manifest. No backticks, no [lists], no ids, no "undefined": a sentence a shop would ship.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadPackage, signJws, testJwks } from '../node/helpers.mjs';
import { ROOT } from './server.mjs';

const { LANGUAGES, MESSAGES, UI, pickLocale, words } = await import('../../www/messages.js');

/** The reason codes of docs/errors.md: the engine's table and the Worker's three. */
function documentedReasons() {
  const doc = fs.readFileSync(path.join(ROOT, 'docs/errors.md'), 'utf8');
  const tables = [doc.split('## Reason codes')[1].split('## Worker error codes')[0], doc.split('Three reasons')[1]];
  return tables.flatMap((t) => [...t.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]));
}

const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs/examples/demo-manifest.json'), 'utf8'));
const coupons = new Map(manifest.coupons.map((c) => [c.id, c]));
const LOCALES = { en: 'en-US', de: 'de-DE' };

/** Details a reason may carry (docs/errors.md), all at once: each template takes what it needs. */
const DETAILS = {
  status: 'paused', needs: 'per_user_limit', starts_at: '2099-01-01T09:00:00Z', event: 'app_install', expired_at: '2026-01-10T12:00:00Z',
  window_start: '2026-01-01T00:00:00Z', window_end: '2026-01-10T00:00:00Z', schedule: 'mon-fri 15:00-18:00 (Europe/Berlin)',
  segment: 'new_customers', fact: 'cart.subtotal', op: 'gte', expected: '75.00', actual: '19.50', missing: '55.50',
  rule: 'category is one of [accessories, bags]', target: 'fee', fee: 'service_fee', limit: 2, used: 2, budget: '25000.00',
  spent: '25000.00', period: 'day', per_user: true, group: 'staff20', next: '10% off the order', with: 'shoes-15', discount: '4.00', assigned_at: '2026-01-01T00:00:00Z',
};

function assertShopperSentence(text, label) {
  assert.equal(typeof text, 'string', label);
  assert.ok(text.length > 10, `${label}: "${text}"`);
  assert.match(text, /[.!?)]$/, `${label} ends as a sentence: "${text}"`);
  assert.doesNotMatch(text, /`|\[|\]|undefined|null|NaN|\{|\}/, `${label}: "${text}"`);
  assert.doesNotMatch(text, /\b(shoes-15|service_fee|new_customers|per_user_limit|cart\.subtotal|USD)\b/, `${label} has no ids: "${text}"`);
}

test('every reason code in docs/errors.md has a sentence in every language, with its details and without', () => {
  const codes = documentedReasons();
  assert.ok(codes.length >= 28, `found ${codes.length} reason codes`);
  for (const code of codes) assert.ok(code in MESSAGES.en.reasons, `${code} has English words`);
  for (const lang of LANGUAGES) {
    assert.deepEqual(Object.keys(MESSAGES[lang].reasons).sort(), Object.keys(MESSAGES.en.reasons).sort(), `${lang} covers what en covers`);
    assert.deepEqual(Object.keys(UI[lang]).sort(), Object.keys(UI.en).sort(), `${lang} has every page word`);
    const w = words({ lang, locale: LOCALES[lang], currency: 'USD', coupons, fees: { service_fee: 'Service fee' } });
    for (const code of codes) {
      assertShopperSentence(w.reason({ code, message: 'the engine’s `words`' }), `${lang} ${code} without details`);
      assertShopperSentence(w.reason({ code, message: 'x', ...DETAILS }, 'ten-off-75'), `${lang} ${code} with details`);
      assertShopperSentence(w.reason({ code, message: 'x', ...DETAILS, missing: 3, limit: 1 }, 'shirts-2-for-20'), `${lang} ${code} with units`);
    }
    assertShopperSentence(w.reason({ code: 'SOMETHING_NEW', message: 'x' }), `${lang} an unknown code`);
    assertShopperSentence(w.reason(undefined), `${lang} no reason at all`);
  }
});

test('money and dates in the shopper\'s locale; lists, terms and names instead of ids', () => {
  const en = words({ lang: 'en', locale: 'en-US', currency: 'USD', coupons });
  const de = words({ lang: 'de', locale: 'de-DE', currency: 'USD', coupons, terms: { accessories: 'Accessoires', bags: 'Taschen' } });
  const nbsp = (s) => s.replace(/\u00a0/g, ' ');
  const cart = { code: 'CART_CONDITION_FAILED', message: 'x', fact: 'cart.subtotal', op: 'gte', expected: '75.00', actual: '19.50', missing: '55.50' };
  assert.equal(en.reason(cart, 'ten-off-75'), 'Add $55.50 more to use this coupon (for orders of $75.00 or more).');
  assert.equal(nbsp(de.reason(cart, 'ten-off-75')), 'Noch 55,50 $ bis zu diesem Gutschein (gilt für Bestellungen ab 75,00 $).');
  const items = { code: 'NO_ELIGIBLE_ITEMS', message: 'x', rule: 'category is one of [accessories, bags]' };
  assert.equal(en.reason(items, 'accessories-5'), 'This coupon applies to accessories and bags only. Add a matching item to use it.');
  assert.match(de.reason(items, 'accessories-5'), /nur für Accessoires und Taschen\./);
  const taken = { code: 'NOTHING_TO_DISCOUNT', message: 'x', target: 'products', units_taken: 3 };
  assert.equal(en.reason(taken), 'The items for this offer already count towards another buy-and-get offer in your cart.');
  assert.match(de.reason(taken), /anderes Kauf-und-Gratis-Angebot/);
  assert.equal(en.reason({ code: 'NOT_COMBINABLE', message: 'x', with: 'shoes-15' }), 'This coupon can’t be combined with “15% off shoes”, which saves you more.');
  assert.equal(en.reason({ code: 'NOT_COMBINABLE', message: 'x', with: 'shoes-15', group: 'staff20' }), 'Only one offer of this promotion applies per order, and “15% off shoes” already does.');
  assert.equal(de.reason({ code: 'USER_LIMIT_REACHED', message: 'x', limit: 1, used: 1, group: 'staff20' }), 'Sie haben bereits ein Angebot dieser Aktion genutzt.');
  assert.equal(en.reason({ code: 'EXPIRED', message: 'x', expired_at: '2026-01-10T12:00:00Z' }), `This offer ended on ${new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date('2026-01-10T12:00:00Z'))}.`);
  assert.equal(en.reason({ code: 'PERIOD_LIMIT_REACHED', message: 'x', period: 'week', limit: 1, used: 1, per_user: true }), 'You have used this offer as often as it allows this week. Try again next week.');
  // Summaries from the manifest's rewards.
  const entry = (id) => ({ coupon_id: id, summary: 'engine words' });
  assert.equal(en.summary(entry('welcome-10')), '10% off your order, up to $20.00');
  assert.equal(nbsp(de.summary(entry('welcome-10'))), '10 % Rabatt auf Ihre Bestellung, höchstens 20,00 $');
  assert.equal(en.summary(entry('member-no-service-fee')), 'No service fee');
  assert.equal(en.summary(entry('store-card-points')), '2% back in points, up to 5,000 points');
  // A coupon the page does not know: the engine's summary with local money, no backticks.
  assert.equal(nbsp(de.summary({ coupon_id: 'elsewhere', summary: '10.00 USD off the `order`' })), '10,00 $ off the order');
});

test('the language: ?lang= first, then navigator.languages; English otherwise', () => {
  assert.deepEqual(pickLocale({ search: '?lang=de', languages: ['en-GB'] }), { lang: 'de', locale: 'de' });
  assert.deepEqual(pickLocale({ search: '', languages: ['fr-FR', 'de-AT', 'en'] }), { lang: 'de', locale: 'de-AT' });
  assert.deepEqual(pickLocale({ search: '', languages: ['fr-FR'] }), { lang: 'en', locale: 'en-US' });
  assert.deepEqual(pickLocale({ search: '?lang=xx', languages: ['en-GB'] }), { lang: 'en', locale: 'en-GB' });
});

test('the reasons the engine gives on the demo manifest read as sentences in both languages', { timeout: 30_000 }, async () => {
  const { CouponEngine } = await loadPackage();
  const now = '2026-01-15T12:00:00Z';
  const engine = CouponEngine.fromSignedManifest(signJws(manifest), testJwks(), { now });
  const line = (id, price, category, quantity = 1) => ({ id, product_id: id, quantity, unit_price: price, attributes: { category } });
  const carts = [[line('tee', '19.50', 'shirts')], [], [line('runner', '89.99', 'shoes'), line('cap', '14.00', 'accessories')]];
  const users = [undefined, { id: 'u2', properties: { tier: 'silver', orders_count: 3 } }];
  const codes = ['TENOFF', 'SHIRTS20', 'ACCESS5', 'SHOES15', 'WELCOME10', 'FLASH30', 'SPRING', 'NOPE', 'BACK7H2KQ9ZX', 'BACK7H2KQ9XZ', 'SHOES-15'];
  const seen = new Set();
  for (const lines of carts) {
    for (const user of users) {
      const ev = engine.evaluate({ cart: { currency: 'USD', lines, shipping: { amount: '7.95' } }, ...(user ? { user } : {}), codes, now });
      for (const r of ev.rejected) {
        seen.add(r.reason.code);
        for (const lang of LANGUAGES) {
          const text = words({ lang, locale: LOCALES[lang], currency: 'USD', coupons }).reason(r.reason, r.coupon_id);
          assertShopperSentence(text, `${lang} ${r.code} ${r.reason.code}`);
          assert.notEqual(text.toLowerCase(), `${r.reason.message}.`.toLowerCase());
        }
      }
    }
  }
  engine.free();
  for (const code of ['UNKNOWN_CODE', 'CART_CONDITION_FAILED', 'NO_ELIGIBLE_ITEMS', 'NOT_IN_AUDIENCE', 'SIGN_IN_REQUIRED', 'PAUSED', 'NOT_ACTIVE', 'DUPLICATE_CODE']) {
    assert.ok(seen.has(code), `the engine gave ${code} (${[...seen].join(', ')})`);
  }
});

test('names quoted in a sentence are isolated when they hold a bidi control, in every language', () => {
  const rlo = 'SALE\u202e01';
  const coupons = new Map([['a', { id: 'a', name: rlo }], ['b', { id: 'b', name: 'Plain' }]]);
  for (const lang of LANGUAGES) {
    const w = words({ lang, currency: 'EUR', coupons });
    const isolated = `\u2068${rlo}\u2069`;
    assert.ok(w.ui.savingLine(rlo, '5 €', false).includes(isolated), lang);
    assert.ok(w.ui.differences.edge(rlo).includes(isolated), lang); // a table within the table
    assert.ok(w.reason({ code: 'NOT_COMBINABLE', with: 'a' }, 'b').includes(isolated), lang);
    assert.ok(!w.reason({ code: 'NOT_COMBINABLE', with: 'b' }, 'a').includes('\u2068'), lang);
    assert.equal(w.ui.savingLine('Plain', '5 €', false), UI[lang].savingLine('Plain', '5 €', false));
  }
});
