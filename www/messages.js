// The shopper's words. The engine explains every coupon that does not apply with a reason code and
// its details (docs/errors.md); its `message` is for developers ("for the `gold` segment: ..."). The
// page writes its own sentence from the code and the details, in the shopper's language, with money
// and dates through Intl in their locale. One function (reason, ctx) -> string per code and locale,
// a generic sentence per code when a detail is missing, and one for codes this page does not know.
//
// ctx (built by words() below): money(amount), date(iso), dateTime(iso), count(n), list(values,
// 'or'|'and'), term(value) (a shop term such as a category, translated when the shop says how),
// fee(id), payment(id), coupon (the coupon from the verified manifest, or null), couponName(id),
// now (ms).

/** Languages with templates; the first is the fallback. */
export const LANGUAGES = ['en', 'de'];

/**
 * The shopper's language and Intl locale: `?lang=` first (tests, a shop's language switch), then the
 * browser's languages (navigator.languages) in order; the first with templates wins.
 */
export function pickLocale({ search = globalThis.location?.search ?? '', languages = globalThis.navigator?.languages ?? [], fallback = 'en-US' } = {}) {
  const asked = new URLSearchParams(search).get('lang');
  for (const tag of [asked, ...languages].filter(Boolean)) {
    const lang = tag.toLowerCase().split('-')[0];
    if (LANGUAGES.includes(lang)) return { lang, locale: safeLocale(tag, fallback) };
  }
  return { lang: 'en', locale: fallback };
}

const safeLocale = (tag, fallback) => {
  try {
    return Intl.getCanonicalLocales(tag)[0] ?? fallback;
  } catch {
    return fallback;
  }
};

import { isolate } from './format.js';

// ---------------------------------------------------------------------------------------------
// Helpers shared by the templates.

/** A table of templates (tables within it too) whose text arguments (names, codes, amounts) are
 * quoted [isolate]d. */
const isolating = (table) =>
  Object.fromEntries(
    Object.entries(table).map(([k, v]) => [
      k,
      typeof v === 'function' ? (...args) => v(...args.map(isolate)) : v && typeof v === 'object' && !Array.isArray(v) ? isolating(v) : v,
    ]),
  );

const moneyFacts = new Set(['cart.subtotal', 'cart.shipping']);
const unitFacts = { 'cart.quantity': 'items', 'cart.line_count': 'products' };
const atLeast = (op) => op === 'gte' || op === 'gt';
const atMost = (op) => op === 'lte' || op === 'lt';

/** The values a simple line rule asks for: { values, attribute } for eq/in on line.attributes.*. */
function lineValues(rule) {
  if (!rule || typeof rule !== 'object') return null;
  if (Array.isArray(rule.all)) {
    for (const r of rule.all) {
      const v = lineValues(r);
      if (v) return v;
    }
    return null;
  }
  if (typeof rule.fact === 'string' && rule.fact.startsWith('line.attributes.')) {
    if (rule.op === 'eq' && (typeof rule.value === 'string' || typeof rule.value === 'number')) return [String(rule.value)];
    if (rule.op === 'in' && Array.isArray(rule.value) && rule.value.every((x) => typeof x === 'string')) return rule.value;
  }
  return null;
}

/** How many units of one line a simple line rule asks for (`line.quantity` gte/gt), or null. */
function lineQuantity(rule) {
  if (!rule || typeof rule !== 'object') return null;
  if (Array.isArray(rule.all)) {
    for (const r of rule.all) {
      const q = lineQuantity(r);
      if (q) return q;
    }
    return null;
  }
  if (rule.fact === 'line.quantity' && Number.isInteger(Number(rule.value))) {
    if (rule.op === 'gte') return Number(rule.value);
    if (rule.op === 'gt') return Number(rule.value) + 1;
  }
  return null;
}

/** The first `any_line` rule of a coupon's conditions (at the top or inside `all`). */
function anyLine(rule) {
  if (!rule || typeof rule !== 'object') return null;
  if (rule.any_line) return rule.any_line;
  if (Array.isArray(rule.all)) for (const r of rule.all) if (anyLine(r)) return anyLine(r);
  return null;
}

/** The line rule that decides which items a coupon's reward is for. */
const targetRule = (coupon) => coupon?.reward?.target?.match ?? coupon?.reward?.buy?.match ?? null;
/** "Service fee" inside an English sentence: "service fee" (not "VAT"). */
const inSentence = (name) => (/^[A-Z][a-z]/.test(name) ? name[0].toLowerCase() + name.slice(1) : name);
const isMoney = (v) => typeof v === 'string' && /^\d+(\.\d+)?$/.test(v);

function upcoming(iso, ctx) {
  const t = Date.parse(iso);
  return Number.isFinite(t) && t > ctx.now;
}

// ---------------------------------------------------------------------------------------------
// English.

const en = {
  reasons: {
    UNKNOWN_CODE: () => 'This code isn’t valid. Check it and try again.',
    CODE_MISTYPED: () => 'This code looks mistyped: check each character and try again.',
    DUPLICATE_CODE: () => 'You entered this code twice; it counts once.',
    ALREADY_APPLIED: () => 'You already have a code for this offer in your cart.',
    NOT_ACTIVE: () => 'This offer isn’t available yet.',
    PAUSED: () => 'This offer is paused for now. Please try again later.',
    ENDED: () => 'This offer has ended.',
    SIGN_IN_REQUIRED: (r, ctx) => {
      const perUser = ctx.coupon?.limits?.per_user;
      if (r.needs === 'per_user_limit' && perUser) {
        return `Sign in to use this coupon: it can be used ${perUser === 1 ? 'once' : `${ctx.count(perUser)} times`} per customer.`;
      }
      if (r.needs === 'segment') return 'Sign in to use this coupon: it is for selected customers.';
      if (r.needs === 'assignment') return 'Sign in to use this coupon: it was sent to you personally.';
      return 'Sign in to use this coupon.';
    },
    NOT_YET_ACTIVE: (r, ctx) => (r.starts_at ? `This offer starts on ${ctx.dateTime(r.starts_at)}.` : 'This offer hasn’t started yet.'),
    NOT_ACTIVATED: () => 'This offer isn’t unlocked for your account yet.',
    EXPIRED: (r, ctx) => (r.expired_at ? `This offer ended on ${ctx.dateTime(r.expired_at)}.` : 'This offer has ended.'),
    OUTSIDE_REDEMPTION_WINDOW: (r, ctx) => {
      if (r.window_start && upcoming(r.window_start, ctx)) return `This offer can be used from ${ctx.dateTime(r.window_start)}.`;
      if (r.window_end) return `This offer could be used until ${ctx.dateTime(r.window_end)}.`;
      return 'This offer can’t be used right now.';
    },
    OUTSIDE_SCHEDULE: (r, ctx) => {
      const when = ctx.schedule();
      return when ? `This offer is only available ${when}.` : 'This offer isn’t available at this time of day. Please try again later.';
    },
    NOT_IN_AUDIENCE: () => 'This offer is for selected customers, and your account doesn’t qualify.',
    NOT_ASSIGNED: () => 'This code wasn’t sent to your account, so it can’t be used here.',
    USER_CONDITION_FAILED: () => 'Your account doesn’t meet this offer’s conditions.',
    EVENT_CONDITION_FAILED: () => 'This offer doesn’t apply to what you did.',
    ALREADY_ASSIGNED: () => 'You already have this offer.',
    CART_CONDITION_FAILED: (r, ctx) => {
      if (moneyFacts.has(r.fact) && isMoney(r.expected)) {
        const what = r.fact === 'cart.shipping' ? 'shipping of' : 'orders of';
        if (atLeast(r.op) && isMoney(r.missing)) return `Add ${ctx.money(r.missing)} more to use this coupon (for ${what} ${ctx.money(r.expected)} or more).`;
        if (atLeast(r.op)) return `This coupon is for ${what} ${ctx.money(r.expected)} or more.`;
        if (atMost(r.op)) return `This coupon is for ${what} up to ${ctx.money(r.expected)}.`;
      }
      if (unitFacts[r.fact] && atLeast(r.op) && r.missing != null) {
        const n = Number(r.missing);
        const noun = unitFacts[r.fact] === 'items' ? (n === 1 ? 'item' : 'items') : n === 1 ? 'product' : 'different products';
        return `Add ${ctx.count(n)} more ${noun} to use this coupon.`;
      }
      if (r.fact === 'cart.attributes.payment_method' && r.op === 'eq' && typeof r.expected === 'string') {
        return `Pay with ${ctx.payment(r.expected)} to use this coupon.`;
      }
      if (r.fact === 'cart.lines') {
        const rule = anyLine(ctx.coupon?.conditions);
        const values = lineValues(rule);
        const qty = lineQuantity(rule);
        if (values && qty > 1) return `Add at least ${ctx.count(qty)} of one item from ${ctx.list(values.map(ctx.term), 'or')} to use this coupon.`;
        if (values) return `Add an item from ${ctx.list(values.map(ctx.term), 'or')} to use this coupon.`;
        return 'Your cart doesn’t have the item this coupon needs yet.';
      }
      return 'Your order doesn’t meet this coupon’s conditions yet.';
    },
    NO_ELIGIBLE_ITEMS: (r, ctx) => {
      const values = lineValues(targetRule(ctx.coupon));
      const n = Number(r.missing);
      if (Number.isInteger(n) && n > 0) {
        return values
          ? `Add ${ctx.count(n)} more ${n === 1 ? 'item' : 'items'} from ${ctx.list(values.map(ctx.term), 'or')} to use this coupon.`
          : `Add ${ctx.count(n)} more qualifying ${n === 1 ? 'item' : 'items'} to use this coupon.`;
      }
      return values
        ? `This coupon applies to ${ctx.list(values.map(ctx.term), 'and')} only. Add a matching item to use it.`
        : 'None of the items in your cart qualify for this coupon.';
    },
    NOTHING_TO_DISCOUNT: (r, ctx) => {
      if (r.target === 'shipping' && r.rule) return 'None of your shipping charges is one this coupon takes off.';
      if (r.target === 'shipping') return 'Your order has no shipping charge for this coupon to take off.';
      if (r.target === 'fee') return `Your order has no ${inSentence(ctx.fee(r.fee ?? ctx.coupon?.reward?.target?.fee))} for this coupon to take off.`;
      if (Number(r.units_taken) > 0) return 'The items for this offer already count towards another buy-and-get offer in your cart.';
      return 'There is nothing left in your cart for this coupon to discount.';
    },
    USER_LIMIT_REACHED: (r, ctx) => {
      // `group`: a limit this coupon shares with others (limit groups): any of them counted.
      if (r.group) return Number(r.limit) > 1 ? `You have used offers of this promotion ${ctx.count(Number(r.limit))} times, as often as it allows.` : 'You have already used an offer of this promotion.';
      return Number(r.limit) > 1 ? `You have used this offer ${ctx.count(Number(r.limit))} times, as often as it allows.` : 'You have already used this offer.';
    },
    GLOBAL_LIMIT_REACHED: (r) => (r.group ? 'The offers of this promotion have been fully claimed.' : 'This offer has been fully claimed.'),
    BUDGET_EXHAUSTED: (r, ctx) => {
      if (r.group) return 'The offers of this promotion have run out.';
      return isMoney(r.left) && isMoney(r.discount) && Number(r.left) > 0
        ? `This offer has only ${ctx.money(r.left)} left, less than its ${ctx.money(r.discount)} discount on your order.`
        : 'This offer has run out.';
    },
    PERIOD_LIMIT_REACHED: (r) => {
      const period = { day: ['today', 'tomorrow'], week: ['this week', 'next week'], month: ['this month', 'next month'] }[r.period];
      if (!period) return 'This offer has been used as often as it allows for now.';
      return r.per_user
        ? `You have used this offer as often as it allows ${period[0]}. Try again ${period[1]}.`
        : `This offer is used up ${period[0]}. Try again ${period[1]}.`;
    },
    TIER_NOT_REACHED: (r, ctx) => {
      if (isMoney(r.missing)) return `Add ${ctx.money(r.missing)} more to unlock this offer.`;
      const n = Number(r.missing);
      return Number.isInteger(n) && n > 0 ? `Add ${ctx.count(n)} more ${n === 1 ? 'item' : 'items'} to unlock this offer.` : 'Add a little more to unlock this offer.';
    },
    CODE_LIMIT_REACHED: (r, ctx) => (r.limit ? `Up to ${ctx.count(Number(r.limit))} codes can be used per order; this one was left out.` : 'Too many codes for one order; this one was left out.'),
    NOT_COMBINABLE: (r, ctx) => {
      const other = r.with ? ctx.couponName(r.with) : null;
      if (r.group) return other ? `Only one offer of this promotion applies per order, and “${other}” already does.` : 'Only one offer of this promotion applies per order.';
      return other ? `This coupon can’t be combined with “${other}”, which saves you more.` : 'This coupon can’t be combined with another offer in your cart.';
    },
    NO_LONGER_APPLIES: () => 'This offer no longer applies to your order.',
    NOT_REQUESTED: () => 'This offer was not applied to your changed order again.',
    DISCOUNT_CHANGED: (r, ctx) => (isMoney(r.discount) ? `This offer now saves ${ctx.money(r.discount)}.` : 'The amount this offer saves has changed.'),
    CODE_POOL_EMPTY: () => 'This offer has run out.',
  },
  unknownReason: () => 'This coupon can’t be used on this order.',
  codeInvalid: (raw) => `“${raw}” isn’t a code: codes are letters and digits.`,
  summary: {
    percentOff: (p, what) => `${p} off ${what}`,
    amountOff: (a, what) => `${a} off ${what}`,
    each: (a, what) => `${a} off each of ${what}`,
    order: 'your order',
    selected: 'selected items',
    items: (list) => list,
    shipping: 'shipping',
    fee: (name) => `the ${inSentence(name)}`,
    freeShipping: 'Free shipping',
    noFee: (name) => `No ${inSentence(name)}`,
    upTo: (s, max) => `${s}, up to ${max}`,
    fixedPrice: (q, price, what) => `${q} ${what} for ${price}`,
    bxgyFree: (b, g) => `Buy ${b}, get ${g} free`,
    bxgyPercent: (b, g, p) => `Buy ${b}, get ${g} at ${p} off`,
    bxgyAmount: (b, g, a) => `Buy ${b}, get ${g} with ${a} off`,
    tiered: (first, min, more) => `${first} on orders from ${min}${more ? ', more as you spend more' : ''}`,
    tieredUnits: (first, min, more) => `${first} when you buy ${min} or more${more ? ', more as you buy more' : ''}`,
    cashbackPercent: (p) => `${p} back in points`,
    cashbackAmount: (a) => `${a} back in points`,
    points: (n) => `${n} bonus points`,
    maxPoints: (s, n) => `${s}, up to ${n} points`,
  },
  days: (list, hours) => [list, hours].filter(Boolean).join(', '),
};

// ---------------------------------------------------------------------------------------------
// German.

const de = {
  reasons: {
    UNKNOWN_CODE: () => 'Dieser Code ist nicht gültig. Bitte prüfen Sie ihn und versuchen Sie es erneut.',
    CODE_MISTYPED: () => 'Dieser Code scheint vertippt zu sein: Bitte prüfen Sie jedes Zeichen.',
    DUPLICATE_CODE: () => 'Sie haben diesen Code doppelt eingegeben; er zählt einmal.',
    ALREADY_APPLIED: () => 'Für dieses Angebot ist bereits ein Code in Ihrem Warenkorb.',
    NOT_ACTIVE: () => 'Dieses Angebot ist noch nicht verfügbar.',
    PAUSED: () => 'Dieses Angebot ist gerade pausiert. Bitte versuchen Sie es später noch einmal.',
    ENDED: () => 'Dieses Angebot ist beendet.',
    SIGN_IN_REQUIRED: (r, ctx) => {
      const perUser = ctx.coupon?.limits?.per_user;
      if (r.needs === 'per_user_limit' && perUser) {
        return `Melden Sie sich an, um diesen Gutschein zu nutzen: Er gilt ${perUser === 1 ? 'einmal' : `${ctx.count(perUser)}-mal`} pro Kunde.`;
      }
      if (r.needs === 'segment') return 'Melden Sie sich an, um diesen Gutschein zu nutzen: Er gilt für ausgewählte Kunden.';
      if (r.needs === 'assignment') return 'Melden Sie sich an, um diesen Gutschein zu nutzen: Er wurde Ihnen persönlich geschickt.';
      return 'Melden Sie sich an, um diesen Gutschein zu nutzen.';
    },
    NOT_YET_ACTIVE: (r, ctx) => (r.starts_at ? `Dieses Angebot beginnt am ${ctx.dateTime(r.starts_at)}.` : 'Dieses Angebot hat noch nicht begonnen.'),
    NOT_ACTIVATED: () => 'Dieses Angebot ist für Ihr Konto noch nicht freigeschaltet.',
    EXPIRED: (r, ctx) => (r.expired_at ? `Dieses Angebot ist am ${ctx.dateTime(r.expired_at)} abgelaufen.` : 'Dieses Angebot ist abgelaufen.'),
    OUTSIDE_REDEMPTION_WINDOW: (r, ctx) => {
      if (r.window_start && upcoming(r.window_start, ctx)) return `Dieses Angebot gilt ab ${ctx.dateTime(r.window_start)}.`;
      if (r.window_end) return `Dieses Angebot galt bis ${ctx.dateTime(r.window_end)}.`;
      return 'Dieses Angebot gilt gerade nicht.';
    },
    OUTSIDE_SCHEDULE: (r, ctx) => {
      const when = ctx.schedule();
      return when ? `Dieses Angebot gilt nur ${when}.` : 'Dieses Angebot gilt zu dieser Uhrzeit nicht. Bitte versuchen Sie es später noch einmal.';
    },
    NOT_IN_AUDIENCE: () => 'Dieses Angebot gilt für ausgewählte Kunden, und Ihr Konto gehört nicht dazu.',
    NOT_ASSIGNED: () => 'Dieser Code wurde nicht an Ihr Konto geschickt und kann hier nicht genutzt werden.',
    USER_CONDITION_FAILED: () => 'Ihr Konto erfüllt die Bedingungen dieses Angebots nicht.',
    EVENT_CONDITION_FAILED: () => 'Dieses Angebot gilt hierfür nicht.',
    ALREADY_ASSIGNED: () => 'Sie haben dieses Angebot bereits.',
    CART_CONDITION_FAILED: (r, ctx) => {
      if (moneyFacts.has(r.fact) && isMoney(r.expected)) {
        const what = r.fact === 'cart.shipping' ? 'Versandkosten' : 'Bestellungen';
        if (atLeast(r.op) && isMoney(r.missing)) return `Noch ${ctx.money(r.missing)} bis zu diesem Gutschein (gilt für ${what} ab ${ctx.money(r.expected)}).`;
        if (atLeast(r.op)) return `Dieser Gutschein gilt für ${what} ab ${ctx.money(r.expected)}.`;
        if (atMost(r.op)) return `Dieser Gutschein gilt für ${what} bis ${ctx.money(r.expected)}.`;
      }
      if (unitFacts[r.fact] && atLeast(r.op) && r.missing != null) {
        const n = Number(r.missing);
        const noun = unitFacts[r.fact] === 'items' ? 'Artikel' : n === 1 ? 'weiteres Produkt' : 'weitere Produkte';
        return `Legen Sie noch ${ctx.count(n)} ${noun} in den Warenkorb, um diesen Gutschein zu nutzen.`;
      }
      if (r.fact === 'cart.attributes.payment_method' && r.op === 'eq' && typeof r.expected === 'string') {
        return `Bezahlen Sie mit ${ctx.payment(r.expected)}, um diesen Gutschein zu nutzen.`;
      }
      if (r.fact === 'cart.lines') {
        const rule = anyLine(ctx.coupon?.conditions);
        const values = lineValues(rule);
        const qty = lineQuantity(rule);
        if (values && qty > 1) return `Legen Sie mindestens ${ctx.count(qty)} Stück eines Artikels aus ${ctx.list(values.map(ctx.term), 'or')} in den Warenkorb, um diesen Gutschein zu nutzen.`;
        if (values) return `Legen Sie einen Artikel aus ${ctx.list(values.map(ctx.term), 'or')} in den Warenkorb, um diesen Gutschein zu nutzen.`;
        return 'In Ihrem Warenkorb fehlt noch der Artikel, für den dieser Gutschein gilt.';
      }
      return 'Ihre Bestellung erfüllt die Bedingungen dieses Gutscheins noch nicht.';
    },
    NO_ELIGIBLE_ITEMS: (r, ctx) => {
      const values = lineValues(targetRule(ctx.coupon));
      const n = Number(r.missing);
      if (Number.isInteger(n) && n > 0) {
        return values
          ? `Legen Sie noch ${ctx.count(n)} Artikel aus ${ctx.list(values.map(ctx.term), 'or')} in den Warenkorb, um diesen Gutschein zu nutzen.`
          : `Legen Sie noch ${ctx.count(n)} passende Artikel in den Warenkorb, um diesen Gutschein zu nutzen.`;
      }
      return values
        ? `Dieser Gutschein gilt nur für ${ctx.list(values.map(ctx.term), 'and')}. Legen Sie einen passenden Artikel in den Warenkorb, um ihn zu nutzen.`
        : 'Kein Artikel in Ihrem Warenkorb kommt für diesen Gutschein infrage.';
    },
    NOTHING_TO_DISCOUNT: (r, ctx) => {
      if (r.target === 'shipping' && r.rule) return 'Keine Ihrer Versandkosten ist von der Art, die dieser Gutschein erlässt.';
      if (r.target === 'shipping') return 'Für Ihre Bestellung fallen keine Versandkosten an, die dieser Gutschein erlassen könnte.';
      if (r.target === 'fee') return `Für Ihre Bestellung fällt keine ${ctx.fee(r.fee ?? ctx.coupon?.reward?.target?.fee)} an, die dieser Gutschein erlassen könnte.`;
      if (Number(r.units_taken) > 0) return 'Die Artikel für dieses Angebot zählen schon für ein anderes Kauf-und-Gratis-Angebot in Ihrem Warenkorb.';
      return 'In Ihrem Warenkorb ist nichts mehr, das dieser Gutschein ermäßigen könnte.';
    },
    USER_LIMIT_REACHED: (r, ctx) => {
      if (r.group) return Number(r.limit) > 1 ? `Sie haben Angebote dieser Aktion schon ${ctx.count(Number(r.limit))}-mal genutzt, so oft sie gelten.` : 'Sie haben bereits ein Angebot dieser Aktion genutzt.';
      return Number(r.limit) > 1 ? `Sie haben dieses Angebot schon ${ctx.count(Number(r.limit))}-mal genutzt, so oft es gilt.` : 'Sie haben dieses Angebot bereits genutzt.';
    },
    GLOBAL_LIMIT_REACHED: (r) => (r.group ? 'Die Angebote dieser Aktion sind vergriffen.' : 'Dieses Angebot ist vergriffen.'),
    BUDGET_EXHAUSTED: (r, ctx) => {
      if (r.group) return 'Die Angebote dieser Aktion sind aufgebraucht.';
      return isMoney(r.left) && isMoney(r.discount) && Number(r.left) > 0
        ? `Von diesem Angebot sind nur noch ${ctx.money(r.left)} übrig, weniger als sein Rabatt von ${ctx.money(r.discount)} auf Ihre Bestellung.`
        : 'Dieses Angebot ist aufgebraucht.';
    },
    PERIOD_LIMIT_REACHED: (r) => {
      const period = { day: ['heute', 'morgen'], week: ['diese Woche', 'nächste Woche'], month: ['diesen Monat', 'nächsten Monat'] }[r.period];
      if (!period) return 'Dieses Angebot ist vorerst ausgeschöpft.';
      return r.per_user
        ? `Sie haben dieses Angebot ${period[0]} so oft genutzt, wie es gilt. Versuchen Sie es ${period[1]} wieder.`
        : `Dieses Angebot ist ${period[0]} ausgeschöpft. Versuchen Sie es ${period[1]} wieder.`;
    },
    TIER_NOT_REACHED: (r, ctx) => {
      if (isMoney(r.missing)) return `Noch ${ctx.money(r.missing)} bis zu diesem Angebot.`;
      const n = Number(r.missing);
      return Number.isInteger(n) && n > 0 ? `Noch ${ctx.count(n)} Artikel bis zu diesem Angebot.` : 'Noch ein wenig mehr bis zu diesem Angebot.';
    },
    CODE_LIMIT_REACHED: (r, ctx) =>
      r.limit ? `Pro Bestellung gelten höchstens ${ctx.count(Number(r.limit))} Codes; dieser wurde nicht berücksichtigt.` : 'Zu viele Codes für eine Bestellung; dieser wurde nicht berücksichtigt.',
    NOT_COMBINABLE: (r, ctx) => {
      const other = r.with ? ctx.couponName(r.with) : null;
      if (r.group) return other ? `Pro Bestellung gilt nur ein Angebot dieser Aktion, und „${other}“ gilt bereits.` : 'Pro Bestellung gilt nur ein Angebot dieser Aktion.';
      return other ? `Dieser Gutschein lässt sich nicht mit „${other}“ kombinieren, das Ihnen mehr spart.` : 'Dieser Gutschein lässt sich nicht mit einem anderen Angebot in Ihrem Warenkorb kombinieren.';
    },
    NO_LONGER_APPLIES: () => 'Dieses Angebot gilt für Ihre Bestellung nicht mehr.',
    NOT_REQUESTED: () => 'Dieses Angebot wurde auf Ihre geänderte Bestellung nicht erneut angewendet.',
    DISCOUNT_CHANGED: (r, ctx) => (isMoney(r.discount) ? `Dieses Angebot spart Ihnen jetzt ${ctx.money(r.discount)}.` : 'Der Rabatt dieses Angebots hat sich geändert.'),
    CODE_POOL_EMPTY: () => 'Dieses Angebot ist aufgebraucht.',
  },
  unknownReason: () => 'Dieser Gutschein gilt für diese Bestellung nicht.',
  codeInvalid: (raw) => `„${raw}“ ist kein Code: Codes bestehen aus Buchstaben und Ziffern.`,
  summary: {
    percentOff: (p, what) => `${p} Rabatt auf ${what}`,
    amountOff: (a, what) => `${a} Rabatt auf ${what}`,
    each: (a, what) => `${a} Rabatt auf jeden Artikel aus ${what}`,
    order: 'Ihre Bestellung',
    selected: 'ausgewählte Artikel',
    items: (list) => list,
    shipping: 'den Versand',
    fee: (name) => `die ${name}`,
    freeShipping: 'Kostenloser Versand',
    noFee: (name) => `Keine ${name}`,
    upTo: (s, max) => `${s}, höchstens ${max}`,
    fixedPrice: (q, price, what) => `${q} Artikel aus ${what} für ${price}`,
    bxgyFree: (b, g) => `${b} kaufen, ${g} gratis`,
    bxgyPercent: (b, g, p) => `${b} kaufen, ${g} mit ${p} Rabatt`,
    bxgyAmount: (b, g, a) => `${b} kaufen, ${g} mit ${a} Rabatt`,
    tiered: (first, min, more) => `${first} ab ${min}${more ? ', mehr je mehr Sie einkaufen' : ''}`,
    tieredUnits: (first, min, more) => `${first} ab ${min} Artikeln${more ? ', mehr je mehr Sie kaufen' : ''}`,
    cashbackPercent: (p) => `${p} zurück als Punkte`,
    cashbackAmount: (a) => `${a} zurück als Punkte`,
    points: (n) => `${n} Bonuspunkte`,
    maxPoints: (s, n) => `${s}, höchstens ${n} Punkte`,
  },
  days: (list, hours) => [list, hours].filter(Boolean).join(', '),
};

export const MESSAGES = { en, de };

// ---------------------------------------------------------------------------------------------
// The words for one shopper: the templates of their language with their locale's Intl formats.

/**
 * `lang` and `locale` from pickLocale(); `currency` the cart's; `shop` optional:
 * { coupons: Map(id -> manifest coupon), terms: { value: label }, fees: { id: name },
 *   payments: { id: label } }. All lookups fall back to something readable, never to an id in
 * backticks.
 */
export function words({ lang = 'en', locale = 'en-US', currency, coupons = new Map(), terms = {}, fees = {}, payments = {} } = {}) {
  const m = MESSAGES[lang] ?? MESSAGES.en;
  const moneyFmt = currency ? new Intl.NumberFormat(locale, { style: 'currency', currency }) : null;
  const countFmt = new Intl.NumberFormat(locale);
  const pctFmt = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 4 });
  const lists = {
    or: new Intl.ListFormat(locale, { type: 'disjunction' }),
    and: new Intl.ListFormat(locale, { type: 'conjunction' }),
  };
  const dateFmt = new Intl.DateTimeFormat(locale, { dateStyle: 'medium' });
  const dateTimeFmt = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
  const shortDate = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short' });
  const shortDateYear = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short', year: 'numeric' });
  const shortDateTime = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short', hour: 'numeric', minute: '2-digit' });
  const readable = (id) => String(id).replace(/[_-]+/g, ' ');

  // Money stays a decimal string: Intl.NumberFormat formats a string operand exactly.
  const money = (amount) => (moneyFmt ? moneyFmt.format(amount) : `${amount}`);
  // A percentage given as a decimal string ("15", "12.5"): shifted by two places as a string.
  const percent = (p) => pctFmt.format(`${p}E-2`);
  const term = (v) => terms[v] ?? String(v);

  const base = {
    lang,
    locale,
    money,
    percent,
    count: (n) => countFmt.format(n),
    list: (values, type = 'and') => lists[type].format(values.map(String)),
    date: (iso) => dateFmt.format(new Date(iso)),
    dateTime: (iso) => dateTimeFmt.format(new Date(iso)),
    term: (v) => isolate(term(v)),
    fee: (id) => isolate(fees[id] ?? readable(id ?? '')),
    payment: (id) => isolate(payments[id] ?? readable(id)),
    couponName: (id) => isolate(coupons.get(id)?.name ?? null),
  };

  /** A coupon's schedule in words ("Mon–Fri, 15:00–18:00 (Europe/Berlin)"), from the manifest. */
  const schedule = (coupon) => {
    const s = coupon?.schedule;
    if (!s) return null;
    const order = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
    // 2024-01-01 was a Monday: a date per weekday, to let Intl name it.
    const dayName = new Intl.DateTimeFormat(locale, { weekday: 'short', timeZone: 'UTC' });
    const days = Array.isArray(s.days) && s.days.length && s.days.length < 7
      ? base.list(order.filter((d) => s.days.includes(d)).map((d) => dayName.format(Date.UTC(2024, 0, 1 + order.indexOf(d)))), 'and')
      : null;
    const hours = Array.isArray(s.hours) && s.hours.length ? base.list(s.hours.map((h) => `${h.from}–${h.to}`), 'and') : null;
    const zone = s.time_zone ? ` (${s.time_zone.replace(/_/g, ' ')})` : '';
    const when = m.days(days, hours);
    return when ? `${when}${zone}` : null;
  };

  return {
    ...base,
    messages: m,
    ui: isolating(UI[lang] ?? UI.en),

    /** The shopper's sentence for a reason `{ code, message, ...details }` about `couponId`. */
    reason(reason, couponId) {
      const coupon = couponId ? coupons.get(couponId) ?? null : null;
      const ctx = { ...base, coupon, now: Date.now(), schedule: () => schedule(coupon) };
      const template = m.reasons[reason?.code];
      if (template) {
        try {
          return template(reason, ctx);
        } catch {
          // a detail of an unexpected shape: the generic sentence below
        }
      }
      return m.unknownReason();
    },

    codeInvalid: (raw) => m.codeInvalid(raw),

    /** "Ends 31 Dec" (the year when it is not this one; the time when it is within a week). */
    ends(iso) {
      const t = new Date(iso);
      const soon = t.getTime() - Date.now() < 7 * 86400e3;
      const fmt = soon ? shortDateTime : t.getFullYear() === new Date().getFullYear() ? shortDate : shortDateYear;
      return fmt.format(t);
    },

    /**
     * What a coupon gives, in the shopper's words, from its reward in the verified manifest; the
     * engine's English summary (with its "10.00 USD" turned into local money) when the reward is
     * of a kind this page does not describe.
     */
    summary(entry) {
      const c = coupons.get(entry.coupon_id);
      const said = c && describeReward(c.reward, m.summary, { ...base, fees });
      if (said) return said;
      return String(entry.summary ?? '').replace(/\b(\d+(?:\.\d+)?) ([A-Z]{3})\b/g, (all, amount, cur) =>
        cur === currency ? money(amount) : all,
      ).replace(/`/g, '');
    },
  };
}

function describeReward(reward, s, w) {
  if (!reward || typeof reward !== 'object') return null;
  const target = reward.target ?? { type: 'order' };
  const values = lineValues(target.match);
  const what = () => {
    if (target.type === 'order') return s.order;
    if (target.type === 'shipping') return s.shipping;
    if (target.type === 'fee') return s.fee(w.fee(target.fee));
    if (target.type === 'products') return values ? s.items(w.list(values.map(w.term), 'and')) : s.selected;
    return null;
  };
  const capped = (text) => (text && reward.max_discount ? s.upTo(text, w.money(reward.max_discount)) : text);
  switch (reward.type) {
    case 'percentage': {
      if (reward.percent === '100' && target.type === 'shipping') return s.freeShipping;
      if (reward.percent === '100' && target.type === 'fee') return s.noFee(w.fee(target.fee));
      const on = what();
      return on && capped(s.percentOff(w.percent(reward.percent), on));
    }
    case 'fixed_amount': {
      const on = what();
      if (!on) return null;
      return reward.allocation === 'each' ? s.each(w.money(reward.amount), on) : s.amountOff(w.money(reward.amount), on);
    }
    case 'fixed_price':
      return Number.isInteger(reward.quantity) ? s.fixedPrice(w.count(reward.quantity), w.money(reward.price), what() ?? s.selected) : null;
    case 'buy_x_get_y': {
      const b = w.count(reward.buy?.quantity ?? 1);
      const g = w.count(reward.get?.quantity ?? 1);
      if (reward.percent === '100') return s.bxgyFree(b, g);
      if (reward.percent) return s.bxgyPercent(b, g, w.percent(reward.percent));
      if (reward.amount) return s.bxgyAmount(b, g, w.money(reward.amount));
      return null;
    }
    case 'tiered': {
      const [first] = reward.tiers ?? [];
      if (!first) return null;
      const gives = first.percent ? s.percentOff(w.percent(first.percent), what() ?? s.order) : first.amount ? s.amountOff(w.money(first.amount), what() ?? s.order) : null;
      if (!gives) return null;
      const more = reward.tiers.length > 1;
      return reward.basis === 'quantity' ? s.tieredUnits(gives, w.count(Number(first.min)), more) : s.tiered(gives, w.money(first.min), more);
    }
    case 'cashback': {
      let text = null;
      if (reward.percent) text = s.cashbackPercent(w.percent(reward.percent));
      else if (reward.amount) text = s.cashbackAmount(w.money(reward.amount));
      else if (reward.points) text = s.points(w.count(reward.points));
      return text && reward.max_points ? s.maxPoints(text, w.count(reward.max_points)) : text;
    }
    default:
      return null;
  }
}

// ---------------------------------------------------------------------------------------------
// The page's own words (headings, buttons, order states), per language. Functions take what they
// need already formatted (money through words().money, dates through words().dateTime).

export const UI = {
  en: {
    title: (shop) => `Checkout · ${shop}`,
    skip: 'Skip to the order summary',
    loading: 'Loading prices…',
    products: 'Products',
    cart: 'Your cart',
    cartEmpty: 'Your cart is empty.',
    payment: 'Payment method',
    codesTitle: 'Coupon codes',
    codeLabel: 'Enter one or more codes',
    codeHint: 'Separate several codes with commas.',
    apply: 'Apply',
    codesList: 'Codes you entered',
    trayTitle: 'Your coupons',
    trayHint: 'Coupons available to you; the ones that work on this cart come first.',
    summaryTitle: 'Order summary',
    placeOrder: 'Place order',
    placing: 'Placing your order…',
    footnote: 'Prices and discounts come from the shop’s signed price list, checked in your browser; the shop checks them again when you order.',
    addToCart: 'Add to cart',
    addAria: (name) => `Add ${name} to cart`,
    each: (price) => `${price} each`,
    qtyOf: (name) => `Quantity of ${name}`,
    remove: 'Remove',
    removeAria: (name) => `Remove ${name}`,
    removeCode: (code) => `Remove code ${code}`,
    online: 'Online',
    offlinePill: 'Offline: preview only',
    signedIn: (name) => `Signed in as ${name}`,
    savedIdentity: (name, offline) => `${name} (${offline ? 'offline' : 'the shop’s sign-in did not answer'}: offers as saved on this device)`,
    anonymous: (down) => (down ? 'Not signed in (the shop’s sign-in did not answer): offers for every shopper' : 'Not signed in: offers for every shopper'),
    savedCopy: (when, offline) => (offline ? `Offline: using the prices saved ${when}.` : `The shop could not be reached: using the prices saved ${when}.`),
    expiredTitle: 'The shop’s prices have expired. ',
    unusableTitle: 'The shop’s prices could not be checked. ',
    expiredOn: (when) => `They were valid until ${when}. `,
    retrySoon: 'Discounts and totals cannot be shown until the shop serves current prices; please try again shortly.',
    retryOnline: 'Discounts and totals cannot be shown until you are back online and current prices are loaded.',
    cannotShow: 'Discounts and totals cannot be shown.',
    startFailed: 'The checkout could not start. Please reload the page.',
    codesNeedPrices: 'Codes can be added once the prices are loaded.',
    already: (code) => `${code} is already in your list.`,
    tooMany: (max, code) => `At most ${max} codes per order; ${code} was not added.`,
    gives: (saved, points) => [saved && `you save ${saved}`, points && `you earn ${points} points`].filter(Boolean).join(' and ') || 'it gives nothing on this cart',
    applied: (gives) => `Applied: ${gives}.`,
    checkedAtOrder: ' The shop checks this code when you order.',
    refusedByShop: (sentence) => `${sentence} (The shop said so when you placed your order.)`,
    autoApplied: (gives) => `Applied automatically: ${gives}.`,
    autoLater: 'Applied automatically once your cart qualifies.',
    onThisCart: (gives) => `On this cart ${gives}.`,
    added: 'Added',
    addedNotYet: 'Added, not applied yet',
    addedAria: (name, code) => `${name}: code ${code} added`,
    addedNotYetAria: (name, code) => `${name}: code ${code} added, not applied yet`,
    applyAria: (name, code) => `Apply ${name} (code ${code})`,
    automatic: 'Automatic',
    isNew: 'New',
    ends: (when) => `Ends ${when}`,
    from: (when) => `From ${when}`,
    trayWaiting: 'Your coupons show once the prices are loaded.',
    trayEmpty: 'No coupons for you right now.',
    breakdown: 'Price breakdown',
    confirmed: 'Confirmed by the shop',
    item: 'Item',
    price: 'Price',
    discount: 'Discount',
    youPay: 'You pay',
    shipping: 'Shipping',
    subtotal: 'Subtotal',
    fees: 'Fees',
    discounts: 'Discounts',
    total: 'Total',
    youSave: (m) => `You save ${m}`,
    live: (total, saved, notApplied) =>
      `Total ${total}${saved ? `, you save ${saved}` : ''}${notApplied ? `; ${notApplied} code${notApplied > 1 ? 's' : ''} not applied` : ''}.`,
    noPricesNow: 'No prices can be shown right now.',
    profileSaved: (problem, when) => `Your customer profile could not be loaded (${problem}): using the copy saved ${when}. The shop prices the order with your current profile.`,
    profileNone: (problem) => `Your customer profile could not be loaded (${problem}): this preview leaves out offers that depend on it (member tier, segments). The shop prices the order with your profile.`,
    problem: { offline: 'you are offline', http: (s) => `the shop answered with an error, HTTP ${s}`, signIn: 'the shop’s sign-in did not answer', other: 'the shop did not send it' },
    previewFailed: 'The prices could not be worked out. Please reload the page.',
    noPrices: 'No prices without valid shop prices (see the message above).',
    waitPrices: 'Prices appear once they are loaded.',
    offlineNote: 'You are offline. These prices are worked out in your browser from the saved price list; placing the order needs a connection.',
    addProducts: 'Add products to see the price.',
    points: (n) => `You earn ${n} points with this order.`,
    savings: 'Savings',
    automaticCode: 'automatic',
    savingLine: (name, gives, capped) => `${name}: ${gives}${capped ? ', cut to what is left of its budget' : ''}.`,
    notApplied: 'Codes not applied',
    forSignedIn: 'For signed-in shoppers',
    reserving: 'Reserving your coupons with the shop…',
    paying: 'Your coupons are reserved. Taking the payment…',
    noBackend: ['Orders cannot be placed from this page. ', 'It has no shop checkout service to sign you in and take the payment. The prices above are a preview for every shopper.'],
    backendDown: ['The shop’s checkout could not be reached. ', 'Nothing was reserved or charged; press Place order again in a moment.'],
    paymentFailed: ['Payment failed: the order was not placed. ', 'Your cart is kept; press Place order to try again.'],
    offline: ['Order not placed: you are offline. ', 'Nothing was redeemed or charged. Your cart is saved on this device; place the order again when you are back online.'],
    dropped: 'The connection dropped while your order was being sent. ',
    noAnswer: 'No answer from the shop. ',
    cannotTell: 'We cannot tell whether your order arrived. ',
    againOnline: 'When you are back online, press Place order again: ',
    again: 'Press Place order again: ',
    sameKey: 'it is sent with the same order key, so it can never be placed twice.',
    busy: ['The shop could not take the order just now. ', 'Press Place order again: it is safe to retry.'],
    noLongerAccepts: (codes) => ['Order not placed: the shop no longer accepts ', `${codes}.`],
    withoutThem: (n, now, was) => `Without ${n > 1 ? 'them' : 'it'} your total is ${now} (it was ${was}). `,
    nothingCharged: 'Nothing was redeemed or charged; press Place order to order at this price.',
    refusedOrder: 'The shop refused the order. ',
    refusedPayment: 'The shop could not complete the order. ',
    tryAgain: ' Press Place order to try again.',
    placed: 'Thank you, your order is placed. ',
    orderNumber: 'Order number',
    saved: (m) => `You saved ${m}.`,
    replayed: ' The shop had already received this order; it was placed once.',
    same: 'The shop confirmed the prices you saw.',
    differs: (now, was) => `The shop’s total is ${now}, not the ${was} you saw:`,
    noConfirmed: 'The shop did not return the confirmed amounts.',
    differences: {
      notApplied: (label, why) => `${label} was not applied to your order: ${why}`,
      noLonger: (label) => `${label} no longer applies: it was paused or ended, or its conditions changed, after your preview.`,
      gave: (label, now, was, capped) => `${label} gave ${now} instead of ${was}${capped ? ': its budget was nearly used up.' : '.'}`,
      points: (label, now, was) => `${label} gives ${now} points instead of ${was}.`,
      edge: (label) => `${label} was applied at the edge as well.`,
      total: (now, was) => `The shop’s total is ${now} instead of ${was}.`,
    },
  },
  de: {
    title: (shop) => `Kasse · ${shop}`,
    skip: 'Zur Bestellübersicht springen',
    loading: 'Preise werden geladen…',
    products: 'Produkte',
    cart: 'Ihr Warenkorb',
    cartEmpty: 'Ihr Warenkorb ist leer.',
    payment: 'Zahlungsart',
    codesTitle: 'Gutscheincodes',
    codeLabel: 'Einen oder mehrere Codes eingeben',
    codeHint: 'Mehrere Codes durch Kommas trennen.',
    apply: 'Einlösen',
    codesList: 'Ihre Codes',
    trayTitle: 'Ihre Gutscheine',
    trayHint: 'Für Sie verfügbare Gutscheine; die für diesen Warenkorb passenden stehen oben.',
    summaryTitle: 'Bestellübersicht',
    placeOrder: 'Zahlungspflichtig bestellen',
    placing: 'Ihre Bestellung wird aufgegeben…',
    footnote: 'Preise und Rabatte stammen aus der signierten Preisliste des Shops und werden in Ihrem Browser geprüft; der Shop prüft sie bei der Bestellung erneut.',
    addToCart: 'In den Warenkorb',
    addAria: (name) => `${name} in den Warenkorb legen`,
    each: (price) => `je ${price}`,
    qtyOf: (name) => `Menge von ${name}`,
    remove: 'Entfernen',
    removeAria: (name) => `${name} entfernen`,
    removeCode: (code) => `Code ${code} entfernen`,
    online: 'Online',
    offlinePill: 'Offline: nur Vorschau',
    signedIn: (name) => `Angemeldet als ${name}`,
    savedIdentity: (name, offline) => `${name} (${offline ? 'offline' : 'die Anmeldung des Shops antwortet nicht'}: Angebote wie auf diesem Gerät gespeichert)`,
    anonymous: (down) => (down ? 'Nicht angemeldet (die Anmeldung des Shops antwortet nicht): Angebote für alle' : 'Nicht angemeldet: Angebote für alle'),
    savedCopy: (when, offline) => (offline ? `Offline: Preise vom ${when}.` : `Der Shop ist nicht erreichbar: Preise vom ${when}.`),
    expiredTitle: 'Die Preise des Shops sind abgelaufen. ',
    unusableTitle: 'Die Preise des Shops konnten nicht geprüft werden. ',
    expiredOn: (when) => `Sie galten bis ${when}. `,
    retrySoon: 'Rabatte und Summen können erst angezeigt werden, wenn der Shop aktuelle Preise liefert; bitte versuchen Sie es gleich noch einmal.',
    retryOnline: 'Rabatte und Summen können erst angezeigt werden, wenn Sie wieder online sind und aktuelle Preise geladen wurden.',
    cannotShow: 'Rabatte und Summen können nicht angezeigt werden.',
    startFailed: 'Die Kasse konnte nicht starten. Bitte laden Sie die Seite neu.',
    codesNeedPrices: 'Codes können eingegeben werden, sobald die Preise geladen sind.',
    already: (code) => `${code} ist bereits in Ihrer Liste.`,
    tooMany: (max, code) => `Höchstens ${max} Codes pro Bestellung; ${code} wurde nicht hinzugefügt.`,
    gives: (saved, points) => [saved && `Sie sparen ${saved}`, points && `Sie erhalten ${points} Punkte`].filter(Boolean).join(' und ') || 'er bringt bei diesem Warenkorb nichts',
    applied: (gives) => `Eingelöst: ${gives}.`,
    checkedAtOrder: ' Der Shop prüft diesen Code bei der Bestellung.',
    refusedByShop: (sentence) => `${sentence} (Antwort des Shops bei Ihrer Bestellung.)`,
    autoApplied: (gives) => `Automatisch eingelöst: ${gives}.`,
    autoLater: 'Wird automatisch eingelöst, sobald Ihr Warenkorb passt.',
    onThisCart: (gives) => `Bei diesem Warenkorb: ${gives}.`,
    added: 'Hinzugefügt',
    addedNotYet: 'Hinzugefügt, noch nicht eingelöst',
    addedAria: (name, code) => `${name}: Code ${code} hinzugefügt`,
    addedNotYetAria: (name, code) => `${name}: Code ${code} hinzugefügt, noch nicht eingelöst`,
    applyAria: (name, code) => `${name} einlösen (Code ${code})`,
    automatic: 'Automatisch',
    isNew: 'Neu',
    ends: (when) => `Endet am ${when}`,
    from: (when) => `Ab ${when}`,
    trayWaiting: 'Ihre Gutscheine erscheinen, sobald die Preise geladen sind.',
    trayEmpty: 'Gerade keine Gutscheine für Sie.',
    breakdown: 'Preisaufstellung',
    confirmed: 'Vom Shop bestätigt',
    item: 'Artikel',
    price: 'Preis',
    discount: 'Rabatt',
    youPay: 'Sie zahlen',
    shipping: 'Versand',
    subtotal: 'Zwischensumme',
    fees: 'Gebühren',
    discounts: 'Rabatte',
    total: 'Gesamt',
    youSave: (m) => `Sie sparen ${m}`,
    live: (total, saved, notApplied) =>
      `Gesamt ${total}${saved ? `, Sie sparen ${saved}` : ''}${notApplied ? `; ${notApplied} ${notApplied > 1 ? 'Codes' : 'Code'} nicht eingelöst` : ''}.`,
    noPricesNow: 'Gerade können keine Preise angezeigt werden.',
    profileSaved: (problem, when) => `Ihr Kundenprofil konnte nicht geladen werden (${problem}): Es gilt die Kopie vom ${when}. Der Shop berechnet die Bestellung mit Ihrem aktuellen Profil.`,
    profileNone: (problem) => `Ihr Kundenprofil konnte nicht geladen werden (${problem}): Angebote, die davon abhängen (Mitgliedsstufe, Kundengruppen), fehlen in dieser Vorschau. Der Shop berechnet die Bestellung mit Ihrem Profil.`,
    problem: { offline: 'Sie sind offline', http: (s) => `der Shop antwortete mit einem Fehler, HTTP ${s}`, signIn: 'die Anmeldung des Shops antwortet nicht', other: 'der Shop hat es nicht geschickt' },
    previewFailed: 'Die Preise konnten nicht berechnet werden. Bitte laden Sie die Seite neu.',
    noPrices: 'Keine Preise ohne gültige Preisliste des Shops (siehe Hinweis oben).',
    waitPrices: 'Die Preise erscheinen, sobald sie geladen sind.',
    offlineNote: 'Sie sind offline. Diese Preise werden in Ihrem Browser aus der gespeicherten Preisliste berechnet; zum Bestellen brauchen Sie eine Verbindung.',
    addProducts: 'Legen Sie Produkte in den Warenkorb, um den Preis zu sehen.',
    points: (n) => `Sie erhalten ${n} Punkte mit dieser Bestellung.`,
    savings: 'Ersparnis',
    automaticCode: 'automatisch',
    savingLine: (name, gives, capped) => `${name}: ${gives}${capped ? ', gekürzt auf das restliche Budget' : ''}.`,
    notApplied: 'Nicht eingelöste Codes',
    forSignedIn: 'Für angemeldete Kunden',
    reserving: 'Ihre Gutscheine werden beim Shop reserviert…',
    paying: 'Ihre Gutscheine sind reserviert. Die Zahlung wird ausgeführt…',
    noBackend: ['Auf dieser Seite kann nicht bestellt werden. ', 'Sie hat keinen Kassendienst des Shops für Anmeldung und Zahlung. Die Preise oben sind eine Vorschau für alle Kunden.'],
    backendDown: ['Die Kasse des Shops ist nicht erreichbar. ', 'Es wurde nichts reserviert oder berechnet; bitte bestellen Sie gleich noch einmal.'],
    paymentFailed: ['Zahlung fehlgeschlagen: Die Bestellung wurde nicht aufgegeben. ', 'Ihr Warenkorb bleibt erhalten; bestellen Sie einfach noch einmal.'],
    offline: ['Nicht bestellt: Sie sind offline. ', 'Es wurde nichts eingelöst oder berechnet. Ihr Warenkorb ist auf diesem Gerät gespeichert; bestellen Sie, sobald Sie wieder online sind.'],
    dropped: 'Die Verbindung brach ab, während Ihre Bestellung gesendet wurde. ',
    noAnswer: 'Keine Antwort vom Shop. ',
    cannotTell: 'Wir wissen nicht, ob Ihre Bestellung angekommen ist. ',
    againOnline: 'Bestellen Sie noch einmal, sobald Sie wieder online sind: ',
    again: 'Bestellen Sie einfach noch einmal: ',
    sameKey: 'Die Bestellung wird mit demselben Schlüssel gesendet und kann nie doppelt aufgegeben werden.',
    busy: ['Der Shop konnte die Bestellung gerade nicht annehmen. ', 'Bestellen Sie einfach noch einmal: Das ist sicher.'],
    noLongerAccepts: (codes) => ['Nicht bestellt: Der Shop akzeptiert ', `${codes} nicht mehr.`],
    withoutThem: (n, now, was) => `Ohne ${n > 1 ? 'diese Codes' : 'diesen Code'} beträgt Ihre Summe ${now} (vorher ${was}). `,
    nothingCharged: 'Es wurde nichts eingelöst oder berechnet; bestellen Sie, um zu diesem Preis zu kaufen.',
    refusedOrder: 'Der Shop hat die Bestellung abgelehnt. ',
    refusedPayment: 'Der Shop konnte die Bestellung nicht abschließen. ',
    tryAgain: ' Bitte bestellen Sie noch einmal.',
    placed: 'Vielen Dank, Ihre Bestellung ist aufgegeben. ',
    orderNumber: 'Bestellnummer',
    saved: (m) => `Sie haben ${m} gespart.`,
    replayed: ' Der Shop hatte diese Bestellung schon erhalten; sie wurde nur einmal aufgegeben.',
    same: 'Der Shop hat die angezeigten Preise bestätigt.',
    differs: (now, was) => `Die Summe des Shops ist ${now}, nicht ${was} wie angezeigt:`,
    noConfirmed: 'Der Shop hat die bestätigten Beträge nicht geschickt.',
    differences: {
      notApplied: (label, why) => `${label} wurde nicht eingelöst: ${why}`,
      noLonger: (label) => `${label} gilt nicht mehr: Das Angebot wurde nach Ihrer Vorschau pausiert, beendet oder geändert.`,
      gave: (label, now, was, capped) => `${label} brachte ${now} statt ${was}${capped ? ': Sein Budget war fast aufgebraucht.' : '.'}`,
      points: (label, now, was) => `${label} bringt ${now} statt ${was} Punkte.`,
      edge: (label) => `${label} wurde zusätzlich eingelöst.`,
      total: (now, was) => `Die Summe des Shops ist ${now} statt ${was}.`,
    },
  },
};
