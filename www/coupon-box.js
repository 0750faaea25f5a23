// <coupon-box>: the coupon box, the coupon tray and a live preview, as one element a shop drops into
// its own checkout page. The host page owns the cart and sets it as a property; the element prices it
// in the browser with the Wasm engine against the shop's signed manifest (verified here, never
// trusted unchecked), says in the shopper's words why a code does not apply (messages.js), and tells
// the host what applies through a `coupon-change` event. It places no order: the host sends
// `detail.codes` with its own order, and the Worker prices the cart again (docs/page.md).
//
//   <script type="module" src="/edge-coupons/coupon-box.js"></script>
//   <coupon-box api="https://coupons.example" currency="EUR"></coupon-box>
//   <script type="module">
//     const box = document.querySelector('coupon-box');
//     box.cart = { currency: 'EUR', lines: [{ id: 'l1', product_id: 'tee', quantity: 2, unit_price: '19.50' }] };
//     box.addEventListener('coupon-change', (e) => console.log(e.detail.codes, e.detail.evaluation.totals));
//   </script>
//
// Attributes: api (base URL of the Worker's routes; default: this origin), manifest (the signed
// manifest's URL; default `${api}/manifest`), keys (the JWKS that signs it; default `${api}/jwks`),
// currency (when the cart has none), locale (Intl locale for money and dates; default the browser's),
// lang (en or de; default from locale, or the browser's languages).
// Properties: cart (set by the host), user (an optional user context to preview with), codes (the
// codes typed, read/write), evaluation (read), ready (a promise: the manifest verified).
// Events (bubbling, composed): coupon-change { codes, typed, evaluation, rejected }, coupon-error
// { code, message }.
import { loadVerifiedManifest, verifiedPayload } from './engine.js';
import { h, isZero } from './format.js';
import { LANGUAGES, pickLocale, words } from './messages.js';

const STYLE = `
:host { display: block; font: inherit; color: var(--coupon-ink, inherit); --_accent: var(--coupon-accent, #0b5cad);
  --_ok: var(--coupon-ok, #1d6b30); --_error: var(--coupon-error, #a4161a); --_muted: var(--coupon-muted, #4d4d4d);
  --_line: var(--coupon-line, #c8c8c8); }
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
section + section { margin-top: 1rem; }
h2, h3 { font-size: 1rem; margin: 0 0 .4rem; line-height: 1.3; }
p { margin: 0; }
ul { list-style: none; margin: 0; padding: 0; }
label { display: block; font-weight: 600; margin-bottom: .25rem; }
.row { display: flex; gap: .5rem; }
input { flex: 1; min-width: 0; min-height: 44px; font: inherit; padding: .4rem .55rem; border: 1px solid #767676; border-radius: 6px; }
button { min-height: 44px; font: inherit; padding: .4rem .9rem; border: 1px solid var(--_accent); border-radius: 6px; background: #fff; color: var(--_accent); cursor: pointer; }
button:disabled { cursor: default; border-color: #767676; color: #595959; background: #eee; }
button.link { border: 0; background: none; min-height: 0; padding: .2rem .3rem; text-decoration: underline; }
button.added:disabled { border-color: var(--_ok); color: var(--_ok); background: #fff; }
button.pending:disabled { border-style: dashed; color: var(--_muted); background: #fff; }
button.added, button.pending { max-width: 10rem; line-height: 1.2; }
:focus-visible { outline: 3px solid var(--coupon-focus, #d35400); outline-offset: 2px; }
li { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; justify-content: space-between; padding: .5rem 0; border-top: 1px solid var(--_line); }
li:first-child { border-top: 0; }
.text { flex: 1 1 12rem; min-width: 0; }
.code { font-family: ui-monospace, Menlo, monospace; font-weight: 600; overflow-wrap: anywhere; }
.small { font-size: .875rem; }
.muted { color: var(--_muted); }
.ok { color: var(--_ok); }
.error { color: var(--_error); }
dl { display: grid; grid-template-columns: 1fr auto; gap: .2rem 1rem; margin: 0; font-variant-numeric: tabular-nums; }
dt { margin: 0; } dd { margin: 0; text-align: right; }
dt.total, dd.total { font-weight: 700; font-size: 1.1rem; }
dd.discount { color: var(--_ok); }
`;

const SHOPPER_WORDS = {
  en: { title: 'Coupons', label: 'Coupon code', hint: 'Separate several codes with commas.', tray: 'Your coupons', preview: 'With your coupons', subtotal: 'Subtotal', shipping: 'Shipping', fees: 'Fees', loading: 'Loading coupons…', failed: 'Coupons are not available right now.', empty: 'Add items to your cart to see what your coupons save.' },
  de: { title: 'Gutscheine', label: 'Gutscheincode', hint: 'Mehrere Codes durch Kommas trennen.', tray: 'Ihre Gutscheine', preview: 'Mit Ihren Gutscheinen', subtotal: 'Zwischensumme', shipping: 'Versand', fees: 'Gebühren', loading: 'Gutscheine werden geladen…', failed: 'Gutscheine sind gerade nicht verfügbar.', empty: 'Legen Sie Artikel in den Warenkorb, um zu sehen, was Ihre Gutscheine sparen.' },
};

const MAX_CODES = 10;
let ids = 0;

export class CouponBox extends HTMLElement {
  static observedAttributes = ['api', 'manifest', 'keys', 'currency', 'locale', 'lang'];

  #cart = null;
  #user = null;
  #codes = [];
  #engine = null;
  #coupons = new Map();
  #evaluation = null;
  #error = null;
  #problems = [];
  #loads = 0;
  #ready = null;
  #id = `coupon-box-${++ids}`;

  constructor() {
    super();
    this.attachShadow({ mode: 'open' });
  }

  connectedCallback() {
    if (!this.#ready) this.#load();
    this.#render();
  }

  disconnectedCallback() {
    // The engine's memory lives in Wasm: freed when the element leaves the page for good.
    queueMicrotask(() => {
      if (this.isConnected) return;
      this.#engine?.free();
      this.#engine = null;
      this.#ready = null;
    });
  }

  attributeChangedCallback(name, before, after) {
    if (before === after) return;
    if (['api', 'manifest', 'keys'].includes(name)) {
      if (this.isConnected) this.#load();
    } else {
      this.#update();
    }
  }

  /** The host's cart: `{ currency?, lines: [{ id, product_id, quantity, unit_price, attributes? }], shipping?, fees?, attributes? }`. */
  get cart() {
    return this.#cart;
  }
  set cart(cart) {
    this.#cart = cart ?? null;
    this.#update();
  }

  /** The user context to preview with (the shop's word: the Worker prices orders with its own profile). */
  get user() {
    return this.#user;
  }
  set user(user) {
    this.#user = user ?? null;
    this.#update();
  }

  /** The codes the shopper typed, normalised. */
  get codes() {
    return [...this.#codes];
  }
  set codes(list) {
    this.#codes = [];
    this.addCodes((list ?? []).join(','));
  }

  get evaluation() {
    return this.#evaluation;
  }

  /** Resolves once the manifest is verified (rejects when it cannot be). */
  get ready() {
    return this.#ready;
  }

  /** Adds typed codes (comma separated); returns the problems said next to the field. */
  addCodes(text) {
    const problems = [];
    if (!this.#engine) {
      problems.push(this.#w().ui.codesNeedPrices);
    } else {
      for (const raw of String(text).split(/[,;\n]+/).map((s) => s.trim()).filter(Boolean)) {
        let code;
        try {
          code = this.#engine.checkCode(raw, { ...(this.#user ?? {}), now: new Date().toISOString() }).code;
        } catch {
          problems.push(this.#w().codeInvalid(raw));
          continue;
        }
        if (this.#codes.includes(code)) problems.push(this.#w().ui.already(code));
        else if (this.#codes.length >= MAX_CODES) problems.push(this.#w().ui.tooMany(MAX_CODES, code));
        else this.#codes.push(code);
      }
    }
    this.#problems = problems;
    this.#update();
    return problems;
  }

  removeCode(code) {
    this.#codes = this.#codes.filter((c) => c !== code);
    this.#update();
  }

  // -------------------------------------------------------------------------------------------

  #urls() {
    const base = (this.getAttribute('api') ?? '').replace(/\/$/, '');
    const abs = (u) => new URL(u, document.baseURI).href;
    return {
      manifestUrl: abs(this.getAttribute('manifest') ?? `${base}/manifest`),
      keysUrl: abs(this.getAttribute('keys') ?? `${base}/jwks`),
    };
  }

  #load() {
    const ticket = ++this.#loads;
    this.#ready = loadVerifiedManifest(this.#urls()).then(
      ({ engine, jws }) => {
        if (ticket !== this.#loads) return engine.free();
        this.#engine?.free();
        this.#engine = engine;
        this.#error = null;
        try {
          this.#coupons = new Map((verifiedPayload(jws).coupons ?? []).map((c) => [c.id, c]));
        } catch {
          this.#coupons = new Map();
        }
        this.#update();
      },
      (err) => {
        if (ticket !== this.#loads) return;
        this.#engine?.free();
        this.#engine = null;
        this.#error = err;
        this.#update();
        this.dispatchEvent(new CustomEvent('coupon-error', { bubbles: true, composed: true, detail: { code: err.code ?? 'ERROR', message: err.message } }));
        throw err;
      },
    );
    this.#ready.catch(() => {}); // said on the element and by the event; `ready` still rejects for the host
  }

  #language() {
    const locale = this.getAttribute('locale') || (globalThis.navigator?.languages?.[0] ?? 'en-US');
    const asked = this.getAttribute('lang');
    const picked = pickLocale({ search: '', languages: [asked, locale, ...(globalThis.navigator?.languages ?? [])].filter(Boolean) });
    return { lang: LANGUAGES.includes(picked.lang) ? picked.lang : 'en', locale };
  }

  #currency() {
    return this.#cart?.currency ?? this.getAttribute('currency') ?? null;
  }

  #w() {
    const { lang, locale } = this.#language();
    const currency = this.#currency();
    const key = `${lang}|${locale}|${currency}|${this.#coupons.size}`;
    if (this._wordsKey !== key) {
      this._wordsKey = key;
      const fees = Object.fromEntries((this.#cart?.fees ?? []).map((f) => [f.id, f.name ?? f.id]));
      this._words = words({ lang, locale, currency: currency ?? undefined, coupons: this.#coupons, fees });
      this._words.box = SHOPPER_WORDS[lang] ?? SHOPPER_WORDS.en;
    }
    return this._words;
  }

  #request(codes) {
    const cart = { ...this.#cart, currency: this.#currency(), lines: this.#cart?.lines ?? [] };
    return this.#user ? { cart, user: this.#user, codes } : { cart, codes };
  }

  #update() {
    this.#evaluation = null;
    let failed = null;
    if (this.#engine && this.#currency()) {
      try {
        this.#evaluation = this.#engine.evaluate({ ...this.#request(this.#codes), now: new Date().toISOString() });
      } catch (err) {
        failed = err;
        console.warn('<coupon-box>: the cart could not be priced:', err.code, err.message);
      }
    }
    this.#render(failed);
    if (this.#evaluation) {
      const ev = this.#evaluation;
      this.dispatchEvent(
        new CustomEvent('coupon-change', {
          bubbles: true,
          composed: true,
          detail: {
            // The codes to send with the order: the ones that apply (the Worker refuses the others).
            codes: ev.applied.map((a) => a.code).filter((c) => c !== null),
            typed: this.codes,
            evaluation: ev,
            rejected: ev.rejected.map((r) => ({ ...r, text: this.#w().reason(r.reason, r.coupon_id) })),
          },
        }),
      );
    }
  }

  #gives(a) {
    const w = this.#w();
    return w.ui.gives(isZero(a.discount) ? null : w.money(a.discount), a.cashback_points > 0 ? w.count(a.cashback_points) : null);
  }

  #outcome(code) {
    const ev = this.#evaluation;
    if (!ev) return null;
    const w = this.#w();
    const applied = ev.applied.find((a) => a.code === code);
    if (applied) return { ok: true, text: w.ui.applied(this.#gives(applied)) };
    const r = ev.rejected.find((x) => x.code === code);
    return r ? { ok: false, signIn: r.reason.code === 'SIGN_IN_REQUIRED', text: w.reason(r.reason, r.coupon_id), reason: r.reason } : null;
  }

  #render(failed = null) {
    const root = this.shadowRoot;
    const w = this.#w();
    const u = w.ui;
    const b = w.box;
    const input = root.querySelector('input');
    const typed = input?.value ?? '';
    const focused = root.activeElement === input;
    const reasonAttrs = (reason) => (reason ? { 'data-reason': reason.code, title: reason.message } : {});

    const form = h(
      'form',
      { part: 'form', novalidate: true, onsubmit: (e) => {
        e.preventDefault();
        const field = e.target.querySelector('input');
        const problems = this.addCodes(field.value);
        if (problems.length === 0) this.shadowRoot.querySelector('input').value = '';
        this.shadowRoot.querySelector('input').focus();
      } },
      h('label', { for: `${this.#id}-code` }, b.label),
      h('p', { class: 'muted small', id: `${this.#id}-hint` }, b.hint),
      h(
        'div',
        { class: 'row' },
        h('input', { id: `${this.#id}-code`, name: 'code', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', 'aria-describedby': `${this.#id}-hint ${this.#id}-error`, 'aria-invalid': String(this.#problems.length > 0) }),
        h('button', { type: 'submit', disabled: !this.#engine }, u.apply),
      ),
      h('p', { class: 'error small', id: `${this.#id}-error`, 'aria-live': 'assertive' }, this.#problems.join(' ')),
    );

    const codes = h(
      'ul',
      { part: 'codes', 'aria-label': u.codesList },
      this.#codes.map((code) => {
        const o = this.#outcome(code);
        return h(
          'li',
          { 'data-code': code },
          h(
            'div',
            { class: 'text' },
            h('span', { class: 'code' }, code),
            o && h('p', { class: `small ${o.ok ? 'ok' : o.signIn ? 'muted' : 'error'}`, 'data-outcome': o.ok ? 'applied' : o.signIn ? 'sign-in' : 'rejected', ...reasonAttrs(o.reason) }, o.text),
          ),
          h('button', { type: 'button', class: 'link', 'aria-label': u.removeCode(code), onclick: () => this.removeCode(code) }, u.remove),
        );
      }),
    );

    let status = null;
    if (this.#error) status = h('p', { class: 'error', role: 'alert', 'data-state': 'error', title: `${this.#error.code ?? ''}: ${this.#error.message}` }, b.failed);
    else if (!this.#engine) status = h('p', { class: 'muted', 'data-state': 'loading' }, b.loading);
    else if (failed) status = h('p', { class: 'error', title: `${failed.code ?? ''}: ${failed.message}` }, u.previewFailed);

    const tray = this.#engine ? this.#tray() : [];
    const ev = this.#evaluation;
    const hasLines = (this.#cart?.lines ?? []).length > 0;
    const preview = ev && hasLines
      ? h(
          'section',
          { part: 'preview', 'aria-labelledby': `${this.#id}-preview` },
          h('h3', { id: `${this.#id}-preview` }, b.preview),
          h(
            'dl',
            { 'data-totals': '' },
            h('dt', {}, b.subtotal), h('dd', { 'data-total': 'subtotal', 'data-amount': ev.totals.subtotal }, w.money(ev.totals.subtotal)),
            !isZero(ev.totals.shipping) && [h('dt', {}, b.shipping), h('dd', { 'data-total': 'shipping', 'data-amount': ev.totals.shipping }, w.money(ev.totals.shipping))],
            !isZero(ev.totals.fees) && [h('dt', {}, b.fees), h('dd', { 'data-total': 'fees', 'data-amount': ev.totals.fees }, w.money(ev.totals.fees))],
            h('dt', {}, u.discounts), h('dd', { class: 'discount', 'data-total': 'discount', 'data-amount': ev.totals.discount }, isZero(ev.totals.discount) ? w.money(ev.totals.discount) : `−${w.money(ev.totals.discount)}`),
            h('dt', { class: 'total' }, u.total), h('dd', { class: 'total', 'data-total': 'total', 'data-amount': ev.totals.total }, w.money(ev.totals.total)),
          ),
          ev.applied.length > 0 && h('ul', { 'aria-label': u.savings }, ev.applied.map((a) => h('li', { 'data-applied': a.coupon_id, class: 'small' }, u.savingLine(a.code ? `${a.name} (${a.code})` : a.name, this.#gives(a), a.budget_capped)))),
        )
      : this.#engine && h('p', { class: 'muted small', part: 'preview' }, b.empty);

    root.replaceChildren(
      h('style', {}, STYLE),
      h(
        'section',
        { part: 'box', 'aria-labelledby': `${this.#id}-title` },
        h('h2', { id: `${this.#id}-title`, part: 'title' }, b.title),
        status,
        form,
        codes,
      ),
      tray.length > 0 && h('section', { part: 'tray', 'aria-labelledby': `${this.#id}-tray` }, h('h3', { id: `${this.#id}-tray` }, b.tray), h('ul', { 'data-tray': '' }, tray)),
      preview,
    );
    const field = root.querySelector('input');
    field.value = typed;
    if (focused) field.focus();
  }

  #tray() {
    const w = this.#w();
    const u = w.ui;
    const now = new Date().toISOString();
    let entries;
    try {
      entries = this.#engine.tray({ ...(this.#user ?? {}), now });
    } catch {
      return [];
    }
    const ev = this.#evaluation;
    const empty = (this.#cart?.lines ?? []).length === 0;
    const views = entries.map((entry) => {
      if (entry.automatic) {
        const a = ev?.applied.find((x) => x.coupon_id === entry.coupon_id);
        return { entry, applies: Boolean(a), text: a ? u.autoApplied(this.#gives(a)) : '' };
      }
      if (this.#codes.includes(entry.code)) {
        const o = this.#outcome(entry.code);
        return { entry, added: true, applies: Boolean(o?.ok), text: empty && !o?.signIn ? '' : o?.text ?? '', reason: o?.reason, signIn: o?.signIn };
      }
      if (!ev || empty) return { entry, applies: false, text: '' };
      let alone;
      try {
        alone = this.#engine.evaluate({ ...this.#request([entry.code]), now });
      } catch {
        return { entry, applies: false, text: '' };
      }
      const a = alone.applied.find((x) => x.coupon_id === entry.coupon_id);
      if (a) return { entry, applies: true, text: u.onThisCart(this.#gives(a)) };
      const r = alone.rejected.find((x) => x.coupon_id === entry.coupon_id);
      return { entry, applies: false, text: r ? w.reason(r.reason, r.coupon_id) : '', reason: r?.reason, signIn: r?.reason.code === 'SIGN_IN_REQUIRED' };
    });
    return [...views.filter((v) => v.applies), ...views.filter((v) => !v.applies)].map(({ entry, applies, added, text, reason, signIn }) => {
      const summary = w.summary(entry);
      return h(
        'li',
        { 'data-coupon': entry.coupon_id, 'data-applies': String(applies), 'data-state': entry.automatic ? 'automatic' : applies && added ? 'applied' : added ? 'added' : 'available' },
        h(
          'div',
          { class: 'text' },
          h('strong', {}, entry.name),
          summary.toLowerCase() !== entry.name.toLowerCase() && h('p', { 'data-summary': '', title: entry.summary }, summary),
          entry.expires_at && h('p', { class: 'muted small', 'data-dates': '' }, u.ends(w.ends(entry.expires_at))),
          text && h('p', { class: `small ${applies ? 'ok' : added && !signIn ? 'error' : 'muted'}`, 'data-tray-outcome': '', ...(reason ? { 'data-reason': reason.code, title: reason.message } : {}) }, text),
        ),
        entry.automatic
          ? h('span', { class: 'small muted' }, u.automatic)
          : h(
              'button',
              {
                type: 'button',
                class: added ? (applies ? 'added' : 'pending') : '',
                disabled: Boolean(added),
                'aria-label': added ? (applies ? u.addedAria(entry.name, entry.code) : u.addedNotYetAria(entry.name, entry.code)) : u.applyAria(entry.name, entry.code),
                onclick: () => this.addCodes(entry.code),
              },
              added ? (applies ? u.added : u.addedNotYet) : u.apply,
            ),
      );
    });
  }
}

if (!customElements.get('coupon-box')) customElements.define('coupon-box', CouponBox);
