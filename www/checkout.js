// The checkout page. Every amount on it comes from the Wasm engine, run here against the shop's
// signed manifest; the page only gathers the cart, the codes and the user, and shows the result.
import { api, loadVerifiedManifest, verifiedPayload } from './engine.js';
import { h, isZero, isolate } from './format.js';
import { pickLocale, words } from './messages.js';
import { attemptFor, confirmedEvaluation, explainDifferences, finishAttempt, payOrder, refusedCodes, sendAttempt } from './order.js';
import { createSession } from './session.js';

const $ = (id) => document.getElementById(id);
const CART_KEY = 'edge-coupons:cart';
const ASSIGNMENTS_KEY = 'edge-coupons:assignments';
const CONTEXT_KEY = 'edge-coupons:context';
// The profile route should answer at once; a shop that hangs does not hold the first preview longer.
const CONTEXT_TIMEOUT_MS = 5000;
// The engine takes up to 20 codes per request; no shopper needs more than a handful.
const MAX_CODES = 10;

// The shopper's language and locale (navigator.languages, or ?lang=): the page's words, and money
// and dates through Intl, follow it; the amounts stay the cart currency's.
const { lang, locale } = pickLocale();

const state = {
  shop: null,
  // The coupons of the verified manifest by id: the page describes rewards and reasons from them.
  coupons: new Map(),
  words: null, // messages.js words() for this shopper; rebuilt when the manifest changes
  // Who the shopper is (session.js): the token from the shop's backend, the identity last known
  // (offline), or anonymous. The Worker is told who the user is by the token only.
  session: null,
  engine: null,
  cachedAt: null, // set when the manifest came from the service worker's cache (offline)
  manifestError: null,
  lines: [], // [{ product_id, quantity }]
  codes: [], // normalised codes, in the order they were added
  // Codes the shop refused when an order was placed (a limit reached meanwhile, a coupon paused at
  // the edge): code -> { coupon_id, reason }. Left out of the preview and of the next order, and
  // shown with the shop's reason, until the shopper removes them or an order goes through.
  refused: new Map(),
  payment: null,
  evaluation: null,
  previewError: null,
  // Coupons paused or ended at the edge since the manifest was signed (the Worker's GET /coupons
  // leaves them out): not offered in the tray. Empty offline or before the Worker answers.
  pausedAtEdge: new Set(),
  // Coupons assigned to this user at the edge ({ coupon_id, assigned_at, code? }, from the entries of
  // GET /coupons that carry assigned_at): the engine needs them as the user's assignments to list and
  // price those coupons here. Kept in localStorage, so they are priced offline too.
  assignments: [],
  // The user context the edge prices this user with (GET /users/{id}/context: stored profile and
  // assignments). { context, source: 'edge' | 'saved' | 'none', savedAt?, problem? }: 'saved' is the
  // last answer, kept in localStorage (offline, or the route failed); 'none' is the bare id, when the
  // route failed and nothing was saved. null until the first answer (or failure).
  profile: null,
  ordering: false,
  order: null, // what the last order attempt came to, for the status panel
  firstPreviewMarked: false,
};

const fmt = (amount) => state.words.money(amount);
const ui = () => state.words.ui;

/** The shop's own names in the shopper's language, where shop.json has them ("translations"). */
const tr = () => state.shop.translations?.[lang] ?? {};
const productName = (p) => tr().products?.[p.id]?.name ?? p.name;
const productDescription = (p) => tr().products?.[p.id]?.description ?? p.description;

function makeWords() {
  const { shop } = state;
  const t = tr();
  state.words = words({
    lang,
    locale,
    currency: shop.currency,
    coupons: state.coupons,
    terms: t.terms ?? {},
    fees: Object.fromEntries((shop.fees ?? []).map((f) => [f.id, t.fees?.[f.id] ?? f.name ?? f.id])),
    payments: Object.fromEntries(shop.payment_methods.map((m) => [m.id, t.payment_methods?.[m.id] ?? m.label])),
  });
}

/** The shopper's sentence for a rejected entry ({ code, coupon_id, reason }); the engine's stays in a title. */
const sentence = (rejected) => state.words.reason(rejected.reason, rejected.coupon_id);
const nowIso = () => new Date().toISOString();
const online = () => navigator.onLine;

// ---------------------------------------------------------------------------------------------
// Cart state, kept in localStorage so a reload (or a restart while offline) loses nothing.

function restoreCart() {
  const known = new Set(state.shop.products.map((p) => p.id));
  try {
    const saved = JSON.parse(localStorage.getItem(CART_KEY) ?? 'null');
    if (saved) {
      state.lines = (saved.lines ?? []).filter((l) => known.has(l.product_id) && Number.isInteger(l.quantity) && l.quantity > 0);
      state.codes = (saved.codes ?? []).filter((c) => typeof c === 'string').slice(0, MAX_CODES);
      state.payment = saved.payment;
      for (const r of saved.refused ?? []) if (state.codes.includes(r?.code) && r.reason?.message) state.refused.set(r.code, r);
    }
  } catch {
    // a damaged entry: start with an empty cart
  }
  if (!state.shop.payment_methods.some((m) => m.id === state.payment)) state.payment = state.shop.payment_methods[0]?.id ?? null;
}

/** The coupons assigned at the edge to this user, as last saved (offline previews). */
function restoreAssignments() {
  state.assignments = [];
  try {
    const saved = JSON.parse(localStorage.getItem(ASSIGNMENTS_KEY) ?? 'null');
    if (userId() && saved?.user === userId() && Array.isArray(saved.assignments)) state.assignments = saved.assignments;
  } catch {
    // a damaged entry: the Worker's answer replaces it when online
  }
}

/** The signed-in user's id, from the shop's session (or the last one known offline); null: anonymous. */
const userId = () => state.session?.userId() ?? null;

/** The context saved by the last successful GET /users/{id}/context for this user, or null. */
function savedProfile() {
  try {
    const saved = JSON.parse(localStorage.getItem(CONTEXT_KEY) ?? 'null');
    if (saved?.user === userId() && saved.context?.id === userId() && typeof saved.saved_at === 'string') return saved;
  } catch {
    // a damaged entry: as if nothing was saved
  }
  return null;
}

/**
 * Asks the Worker for exactly the user context it prices this user with (docs/worker.md, trusted
 * user context) and keeps it for offline previews. When the route fails (offline, an error), the
 * last saved copy is used, or the bare id if there is none; the page says which (renderBreakdown).
 */
async function loadProfile() {
  const id = userId();
  if (!id) {
    state.profile = null; // anonymous: priced without a user, as the Worker prices it
    return;
  }
  try {
    // The route answers only for the token's own user: without a token (the shop's sign-in did not
    // answer) there is nothing to ask.
    if (state.session.source() !== 'backend') throw Object.assign(new Error(`the shop's sign-in did not answer: ${state.session.problem()}`), { kind: 'signIn' });
    const res = await state.session.fetch(api(`/users/${encodeURIComponent(id)}/context`), {
      cache: 'no-store',
      signal: AbortSignal.timeout(CONTEXT_TIMEOUT_MS),
    });
    if (!res.ok) throw Object.assign(new Error(`the shop answered HTTP ${res.status}`), { kind: 'http', status: res.status });
    const context = await res.json();
    if (context?.id !== id) throw new Error('the shop answered for another user');
    const savedAt = new Date().toISOString();
    localStorage.setItem(CONTEXT_KEY, JSON.stringify({ user: id, context, saved_at: savedAt }));
    state.profile = { context, source: 'edge', savedAt };
  } catch (err) {
    // Said in the shopper's words (renderBreakdown); the technical detail stays in the console.
    console.warn('customer profile not loaded:', err.message);
    const problem = online() ? { kind: err.kind ?? 'other', status: err.status } : { kind: 'offline' };
    const saved = savedProfile();
    state.profile = saved
      ? { context: saved.context, source: 'saved', savedAt: saved.saved_at, problem }
      : { context: { id }, source: 'none', problem };
  }
}

/**
 * The user the engine prices for: the edge's context, with the coupons assigned to them at the edge;
 * null when the shopper is anonymous.
 */
function userContext() {
  if (!userId()) return null;
  const ctx = state.profile?.context ?? savedProfile()?.context ?? { id: userId() };
  if (state.assignments.length === 0) return ctx;
  const fromEdge = new Set(state.assignments.map((a) => a.coupon_id));
  return { ...ctx, assignments: [...(ctx.assignments ?? []).filter((a) => !fromEdge.has(a.coupon_id)), ...state.assignments] };
}

const saveCart = () =>
  localStorage.setItem(
    CART_KEY,
    JSON.stringify({ lines: state.lines, codes: state.codes, payment: state.payment, refused: [...state.refused.values()] }),
  );

/** The codes to price with: the shopper's, without those the shop has refused. */
const liveCodes = () => state.codes.filter((c) => !state.refused.has(c));

/** A cart line's id in the request: one line per product. */
const lineId = (productId) => `line-${productId}`;

/** The EvaluateRequest for the current cart, built the same way every time (order.js relies on it). */
function buildRequest(codes = liveCodes()) {
  const { shop } = state;
  const products = new Map(shop.products.map((p) => [p.id, p]));
  const lines = state.lines.map((l) => {
    const p = products.get(l.product_id);
    return { id: lineId(p.id), product_id: p.id, quantity: l.quantity, unit_price: p.unit_price, attributes: p.attributes };
  });
  const cart = { currency: shop.currency, lines };
  // Shipping and fees are charged only when something ships.
  if (lines.length > 0) {
    if (shop.shipping) cart.shipping = shop.shipping;
    if (shop.fees?.length) cart.fees = shop.fees;
  }
  if (state.payment) cart.attributes = { payment_method: state.payment };
  const user = userContext();
  return user ? { cart, user, codes } : { cart, codes };
}

// ---------------------------------------------------------------------------------------------
// The engine.

/**
 * Asks the Worker for this user's tray (priced at the edge with the user's stored profile and
 * assignments). Its entries for assigned coupons carry `assigned_at` and the user's code: they become
 * the assignments the engine here prices with. A coupon the engine lists for this user but the Worker
 * leaves out was paused or ended at the edge since the manifest was signed: it is not offered.
 */
async function refreshEdgeTray() {
  const id = userId();
  // Without a token the Worker answers only the anonymous tray; the saved assignments stay meanwhile.
  if (id && state.session.source() !== 'backend') return;
  try {
    const res = await state.session.fetch(api(id ? `/coupons?user=${encodeURIComponent(id)}` : '/coupons'));
    if (!res.ok) return;
    const edge = await res.json();
    if (id) {
      state.assignments = edge
        .filter((e) => typeof e.assigned_at === 'string')
        .map(({ coupon_id, assigned_at, code }) => (code == null ? { coupon_id, assigned_at } : { coupon_id, assigned_at, code }));
      localStorage.setItem(ASSIGNMENTS_KEY, JSON.stringify({ user: id, assignments: state.assignments }));
    }
    if (state.engine) {
      const atEdge = new Set(edge.map((e) => e.coupon_id));
      const local = state.engine.tray({ ...userContext(), now: nowIso() });
      state.pausedAtEdge = new Set(local.map((e) => e.coupon_id).filter((c) => !atEdge.has(c)));
    }
    recompute(); // the assignments can change what the codes give
  } catch {
    // offline, or the engine refused the call: the tray stays as the engine shows it
  }
}

// Manifest loads can overlap (the one at start, one per 'online' event, the retries below): only the
// latest one started is used, so a slow load of the saved copy begun while offline never replaces a
// current manifest that arrived after it.
let manifestLoads = 0;

/** Starts loading the manifest; resolves to { value } or { error }, or to null if a later load started since. */
async function loadManifest() {
  const ticket = ++manifestLoads;
  const result = await settle(loadVerifiedManifest());
  if (ticket === manifestLoads) return result;
  result.value?.engine.free();
  return null;
}

let staleRetries = 0;

/** Uses a manifest load (by default a new one) and recomputes the preview with it. */
async function refreshManifest(loading = loadManifest()) {
  const result = await loading;
  if (!result) return; // a later load decides
  useManifest(result);
  recompute();
  // Online, yet the service worker answered from its cache: the shop did not answer just now (it is
  // restarting, or the connection is not really up yet). Ask again a few times, a little later,
  // rather than keep a saved price list while online.
  if (online() && (result.value?.cachedAt || result.error?.code === 'NETWORK') && staleRetries < 5) {
    staleRetries += 1;
    setTimeout(refreshManifest, 1000 * staleRetries);
  } else if (!result.value?.cachedAt) {
    staleRetries = 0;
  }
}

const settle = (promise) => promise.then((value) => ({ value }), (error) => ({ error }));

function useManifest({ value, error }) {
  if (value) {
    const { engine, cachedAt, jws } = value;
    state.engine?.free();
    state.engine = engine;
    state.cachedAt = cachedAt;
    state.manifestError = null;
    try {
      state.coupons = new Map((verifiedPayload(jws).coupons ?? []).map((c) => [c.id, c]));
    } catch {
      state.coupons = new Map(); // the page falls back to the engine's summaries
    }
    makeWords();
  } else {
    const err = error;
    state.manifestError = err;
    // A manifest that does not verify (expired, bad signature) is never used; an engine already
    // loaded keeps working only while its own manifest is valid (evaluate checks that every time).
    if (err.code !== 'NETWORK' && err.code !== 'HTTP_ERROR') {
      state.engine?.free();
      state.engine = null;
    }
  }
}

function recompute() {
  state.evaluation = null;
  state.previewError = null;
  if (state.engine) {
    try {
      state.evaluation = state.engine.evaluate({ ...buildRequest(), now: nowIso() });
    } catch (err) {
      state.previewError = err;
      if (err.code === 'MANIFEST_EXPIRED') {
        // The price list expired while the page was open: drop it and fetch the current one.
        state.manifestError = err;
        state.engine.free();
        state.engine = null;
        if (online()) refreshManifest();
      }
    }
  }
  render();
}

// ---------------------------------------------------------------------------------------------
// Actions.

function setQuantity(productId, quantity) {
  const line = state.lines.find((l) => l.product_id === productId);
  if (quantity <= 0) state.lines = state.lines.filter((l) => l.product_id !== productId);
  else if (line) line.quantity = quantity;
  else state.lines.push({ product_id: productId, quantity });
  saveCart();
  recompute();
}

const addProduct = (productId) =>
  setQuantity(productId, (state.lines.find((l) => l.product_id === productId)?.quantity ?? 0) + 1);

/** Adds typed codes (comma separated). Returns the problems to show next to the field. */
function addCodes(text) {
  // Without a verified manifest there is nothing to check a code against (the field is disabled too).
  if (!state.engine) return [ui().codesNeedPrices];
  const problems = [];
  const ctx = { ...userContext(), now: nowIso() };
  for (const raw of text.split(/[,;\n]+/).map((s) => s.trim()).filter(Boolean)) {
    let normalised;
    try {
      // The engine's own normalisation ("save-10" is SAVE10), so the list shows each code once.
      normalised = state.engine.checkCode(raw, ctx).code;
    } catch (err) {
      problems.push(state.words.codeInvalid(raw));
      continue;
    }
    if (state.codes.includes(normalised)) problems.push(ui().already(normalised));
    else if (state.codes.length >= MAX_CODES) problems.push(ui().tooMany(MAX_CODES, normalised));
    else state.codes.push(normalised);
  }
  saveCart();
  recompute();
  return problems;
}

function removeCode(code) {
  state.codes = state.codes.filter((c) => c !== code);
  state.refused.delete(code);
  saveCart();
  recompute();
}

async function placeOrder() {
  // The button is disabled while a request is out; this guard also covers two clicks in one frame.
  if (state.ordering || !state.evaluation) return;
  if (!online()) {
    state.order = { kind: 'offline' };
    render();
    return;
  }
  const { backend } = state.session;
  if (!backend) {
    // Paying is the shop's backend's (it confirms the reservation): a page without one cannot order.
    state.order = { kind: 'no-backend' };
    render();
    return;
  }
  const preview = state.evaluation;
  state.ordering = true;
  state.order = { kind: 'placing' };
  render();
  // A current token first: the order is priced at the edge for the token's user, and an anonymous
  // reservation could not be paid. Without an answer from the shop's sign-in, nothing is reserved.
  await state.session.ensure();
  if (state.session.source() !== 'backend') {
    state.ordering = false;
    state.order = { kind: 'backend-down', problem: state.session.problem() };
    render();
    return;
  }
  // Only the codes the preview applied are sent: the shop refuses an order with a code that does not
  // apply, and the shopper has already been told why each of the others does not.
  const attempt = attemptFor(buildRequest(preview.applied.map((a) => a.code).filter((c) => c !== null)));
  // 1. Reserve the coupon uses (a replay of the same attempt answers the same reservation).
  const outcome = await sendAttempt(attempt, state.session.fetch);
  if (outcome.kind === 'placed') {
    // 2. Pay at the shop's backend, which confirms the reservation at the Worker.
    state.order = { kind: 'paying' };
    render();
    const paid = await payOrder(backend, outcome.body?.redemption?.id, state.session.fetch);
    state.ordering = false;
    if (paid.kind === 'placed') {
      finishAttempt();
      const confirmed = confirmedEvaluation(outcome.body);
      state.order = {
        kind: 'placed',
        redemption: paid.body?.order?.redemption ?? outcome.body?.redemption,
        // The shop's own order number when its backend gives one, else the one this page made up.
        orderNumber: paid.body?.order?.order_number ?? paid.body?.order?.order_id ?? attempt.orderId,
        replayed: outcome.replayed,
        preview,
        confirmed,
        // What was ordered, for the confirmed breakdown's labels: the cart is emptied below.
        lines: state.lines.map((l) => ({ ...l })),
        notes: confirmed ? explainDifferences(preview, confirmed, fmt, { notes: ui().differences, why: sentence }) : [],
      };
      // The order is placed: the next one starts from an empty cart (the codes were used).
      state.lines = [];
      state.codes = [];
      state.refused.clear();
      saveCart();
      recompute();
      return;
    }
    // Declined, or refused for good (the hold lapsed): the reservation is over; the next attempt
    // reserves again under a new key. No answer or a 5xx: the attempt is kept, and placing the order
    // again replays the reservation and asks the shop again for the same order (never charged twice).
    if (paid.kind === 'payment-failed' || paid.kind === 'refused') finishAttempt();
    state.order = paid.kind === 'network' ? { kind: 'network', offlineNow: !online() } : { ...paid, stage: 'payment' };
    render();
    return;
  }
  state.ordering = false;
  if (outcome.kind === 'refused') {
    finishAttempt(); // this exact attempt can never succeed; the next one gets a new key
    const refused = refusedCodes(outcome.error);
    for (const r of refused) if (r.code) state.refused.set(r.code, r);
    saveCart();
    if (refused.length) {
      // Priced again without them: the preview now shows what placing the order would cost.
      state.order = { kind: 'codes-refused', refused, preview };
      recompute();
      return;
    }
  }
  // No answer is never reported as "not placed": the request may have arrived before the network
  // went away. The attempt (and its key) is kept, so placing it again cannot redeem twice.
  state.order = outcome.kind === 'network' ? { kind: 'network', offlineNow: !online() } : outcome;
  render();
}

// ---------------------------------------------------------------------------------------------
// Rendering. Each part is rebuilt from state; the DOM is small, so this stays well under a frame.
// Every sentence is the shopper's (messages.js); the engine's own message for a reason stays in the
// element's `title` and its code in `data-reason`, for developers and the shop's scripts.

/** Who the page prices for, in the header: the shop's session, the identity last known, or nobody. */
function signedInText() {
  const session = state.session;
  if (!session) return '';
  const name = session.displayName();
  if (session.source() === 'backend') return ui().signedIn(name);
  if (session.source() === 'saved') return ui().savedIdentity(name, !online());
  return ui().anonymous(Boolean(session.backend));
}

/** The static words of index.html (elements marked data-i18n="key"), in the shopper's language. */
function renderStaticWords() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll('[data-i18n]')) {
    const text = ui()[el.dataset.i18n];
    if (typeof text === 'string') el.textContent = text;
  }
  for (const el of document.querySelectorAll('[data-i18n-label]')) {
    const text = ui()[el.dataset.i18nLabel];
    if (typeof text === 'string') el.setAttribute('aria-label', text);
  }
}

function renderHeader() {
  $('signed-in').textContent = signedInText();
  $('connection').textContent = online() ? ui().online : ui().offlinePill;
  $('connection').className = `pill ${online() ? 'online' : 'offline'}`;

  const problem = $('manifest-problem');
  const err = state.manifestError;
  if (!state.engine && err) {
    problem.hidden = false;
    // The engine's message (with its code) for developers; the shopper reads what it means for them.
    problem.title = `${err.code ?? 'ERROR'}: ${err.message}`;
    problem.dataset.error = err.code ?? '';
    const expiredAt = err.code === 'MANIFEST_EXPIRED' ? /expired at (\S+?Z)\b/.exec(err.message)?.[1] : null;
    problem.replaceChildren(
      h('strong', {}, err.code === 'MANIFEST_EXPIRED' ? ui().expiredTitle : ui().unusableTitle),
      expiredAt && !Number.isNaN(Date.parse(expiredAt)) ? ui().expiredOn(state.words.dateTime(expiredAt)) : '',
      err.code === 'MANIFEST_EXPIRED' || err.code === 'NETWORK'
        ? online()
          ? ui().retrySoon
          : ui().retryOnline
        : ui().cannotShow,
    );
  } else {
    problem.hidden = true;
    problem.replaceChildren();
  }

  // Nothing to say while all is well: the shopper only hears about the price list when it is a saved
  // copy. data-state is for tests and the shop's scripts ("verified" once the engine has it).
  const status = $('manifest-status');
  status.dataset.state = state.engine ? (state.cachedAt ? 'saved' : 'verified') : err ? 'error' : 'loading';
  if (state.engine) {
    status.dataset.manifest = state.engine.manifestId;
    status.textContent = state.cachedAt ? ui().savedCopy(state.words.dateTime(state.cachedAt), !online()) : '';
  } else {
    status.textContent = err ? '' : ui().loading;
  }
  status.hidden = status.textContent === '';
  $('code-apply').disabled = !state.engine;
}

function renderProducts() {
  $('products').replaceChildren(
    ...state.shop.products.map((p) =>
      h(
        'li',
        { 'data-product': p.id },
        h('div', { class: 'item-text' }, h('h3', {}, productName(p)), h('p', { class: 'muted small' }, productDescription(p)), h('p', {}, fmt(p.unit_price))),
        h('button', { type: 'button', onclick: () => addProduct(p.id), 'aria-label': ui().addAria(productName(p)) }, ui().addToCart),
      ),
    ),
  );
}

function renderCart() {
  const products = new Map(state.shop.products.map((p) => [p.id, p]));
  $('cart-empty').hidden = state.lines.length > 0;
  $('cart-lines').replaceChildren(
    ...state.lines.map((l) => {
      const p = products.get(l.product_id);
      const inputId = `qty-${p.id}`;
      return h(
        'li',
        { 'data-line': lineId(p.id) },
        h('div', { class: 'item-text' }, h('p', {}, productName(p)), h('p', { class: 'muted small' }, ui().each(fmt(p.unit_price)))),
        h(
          'div',
          { class: 'qty' },
          h('label', { for: inputId }, ui().qtyOf(productName(p))),
          h('input', {
            id: inputId,
            type: 'number',
            min: '0',
            max: '99',
            step: '1',
            inputmode: 'numeric',
            value: String(l.quantity),
            onchange: (e) => {
              const q = Number(e.target.value);
              // Only whole numbers reach the engine; anything else puts the old value back.
              if (Number.isInteger(q) && q >= 0 && q <= 99) setQuantity(p.id, q);
              else e.target.value = String(l.quantity);
            },
          }),
          h('button', { type: 'button', class: 'link', onclick: () => setQuantity(p.id, 0), 'aria-label': ui().removeAria(productName(p)) }, ui().remove),
        ),
      );
    }),
  );
  const select = $('payment-method');
  if (select.options.length === 0) {
    select.append(...state.shop.payment_methods.map((m) => h('option', { value: m.id }, tr().payment_methods?.[m.id] ?? m.label)));
    select.addEventListener('change', () => {
      state.payment = select.value;
      saveCart();
      recompute();
    });
  }
  select.value = state.payment ?? '';
}

/** What one applied coupon gives, in words ("you save $13.50"). */
const gives = (applied) =>
  ui().gives(isZero(applied.discount) ? null : fmt(applied.discount), applied.cashback_points > 0 ? state.words.count(applied.cashback_points) : null);

/**
 * A code's outcome on this cart: { ok, signIn, text, reason? } (reason: the engine's, for the
 * title), or null before the first preview.
 */
function codeOutcome(code) {
  const refused = state.refused.get(code);
  if (refused) return { ok: false, text: ui().refusedByShop(sentence(refused)), reason: refused.reason };
  const ev = state.evaluation;
  if (!ev) return null;
  const applied = ev.applied.find((a) => a.code === code);
  if (applied) return { ok: true, text: ui().applied(gives(applied)) + (applied.verification === 'format_only' ? ui().checkedAtOrder : '') };
  const rejected = ev.rejected.find((r) => r.code === code);
  if (!rejected) return null;
  return { ok: false, signIn: needsSignIn(rejected), text: sentence(rejected), reason: rejected.reason };
}

/**
 * A coupon for signed-in shoppers, asked for by an anonymous one: not a mistake of theirs, so it is
 * said as what to do (sign in), not as an error.
 */
const needsSignIn = (rejected) => rejected.reason?.code === 'SIGN_IN_REQUIRED';

/** The attributes that keep the engine's words at hand for developers: its code and its message. */
const reasonAttrs = (reason) => (reason ? { 'data-reason': reason.code, title: reason.message } : {});

function renderCodes() {
  $('codes').replaceChildren(
    ...state.codes.map((code) => {
      const outcome = codeOutcome(code);
      return h(
        'li',
        { 'data-code': code },
        h(
          'div',
          { class: 'item-text' },
          h('span', { class: 'code' }, code),
          outcome &&
            h(
              'p',
              {
                class: `small ${outcome.ok ? 'ok' : outcome.signIn ? 'muted' : 'error'}`,
                'data-outcome': outcome.ok ? 'applied' : outcome.signIn ? 'sign-in' : 'rejected',
                ...reasonAttrs(outcome.reason),
              },
              outcome.text,
            ),
        ),
        h('button', { type: 'button', class: 'link', onclick: () => removeCode(code), 'aria-label': ui().removeCode(code) }, ui().remove),
      );
    }),
  );
}

/**
 * The tray with, for each coupon, whether it works on this cart; the ones that do come first. Each
 * view: { entry, applies, added, signIn, text, reason }.
 */
function trayView() {
  const now = nowIso();
  const entries = state.engine
    .tray({ ...userContext(), now })
    .filter((e) => !state.pausedAtEdge.has(e.coupon_id));
  const ev = state.evaluation;
  const empty = state.lines.length === 0;
  const views = entries.map((entry) => {
    const inCart = ev?.applied.find((a) => a.coupon_id === entry.coupon_id);
    if (entry.automatic) {
      return inCart
        ? { entry, applies: true, text: ui().autoApplied(gives(inCart)) }
        : { entry, applies: false, text: entry.has_conditions || empty ? ui().autoLater : '' };
    }
    if (state.codes.includes(entry.code)) {
      const outcome = codeOutcome(entry.code);
      // An empty cart says nothing about the cart; "sign in" and the shop's refusals still matter.
      const quiet = empty && !outcome?.signIn && !state.refused.has(entry.code);
      return { entry, applies: Boolean(outcome?.ok), added: true, signIn: outcome?.signIn, text: quiet ? '' : outcome?.text ?? '', reason: outcome?.reason };
    }
    // Priced alone against this cart: the engine says what it would give, or why not.
    let alone;
    try {
      alone = state.engine.evaluate({ ...buildRequest([entry.code]), now });
    } catch {
      return { entry, applies: false, text: '' };
    }
    const applied = alone.applied.find((a) => a.coupon_id === entry.coupon_id);
    if (applied) return { entry, applies: true, text: ui().onThisCart(gives(applied)) };
    const rejected = alone.rejected.find((r) => r.coupon_id === entry.coupon_id);
    if (rejected && needsSignIn(rejected)) return { entry, applies: false, signIn: true, text: sentence(rejected), reason: rejected.reason };
    // Nothing in the cart yet: what a coupon needs from the cart is not news.
    if (!rejected || empty) return { entry, applies: false, text: '' };
    return { entry, applies: false, text: sentence(rejected), reason: rejected.reason };
  });
  // Stable: within each group, the engine's order (priority, then soonest expiry).
  return [...views.filter((v) => v.applies), ...views.filter((v) => !v.applies)];
}

const NEW_FOR_MS = 24 * 3600e3;

/** A coupon given to this user in the last day (by a campaign event or an upload): shown as new. */
function isNew(couponId) {
  const a = (userContext()?.assignments ?? []).find((x) => x.coupon_id === couponId);
  const age = a ? Date.now() - Date.parse(a.assigned_at) : NaN;
  return age >= 0 && age < NEW_FOR_MS;
}

function renderTray() {
  if (!state.engine) {
    $('tray').replaceChildren(h('li', { class: 'muted' }, ui().trayWaiting));
    return;
  }
  const views = trayView();
  if (views.length === 0) {
    $('tray').replaceChildren(h('li', { class: 'muted' }, ui().trayEmpty));
    return;
  }
  const w = state.words;
  $('tray').replaceChildren(
    ...views.map(({ entry, applies, added, signIn, text, reason }) => {
      // Only what a shopper needs: when it starts (if later) and when it ends (if ever).
      const dates = [
        entry.redeemable_from && Date.parse(entry.redeemable_from) > Date.now() && ui().from(w.ends(entry.redeemable_from)),
        entry.expires_at && ui().ends(w.ends(entry.expires_at)),
      ].filter(Boolean);
      const fresh = isNew(entry.coupon_id);
      const summary = w.summary(entry);
      const state_ = applies ? 'applied' : added ? 'added' : 'available';
      return h(
        'li',
        {
          'data-coupon': entry.coupon_id,
          'data-applies': String(applies),
          'data-state': entry.automatic ? 'automatic' : state_,
          'data-new': String(fresh),
          'data-sign-in': String(Boolean(signIn)),
          class: applies ? 'applicable' : '',
        },
        h(
          'div',
          { class: 'item-text' },
          h('h3', {}, isolate(entry.name), fresh && h('span', { class: 'badge new' }, ui().isNew)),
          // What it gives, unless the coupon's name already says exactly that ("15% off shoes").
          summary.toLowerCase() !== entry.name.toLowerCase() && h('p', { 'data-summary': '', title: entry.summary }, summary),
          dates.length > 0 && h('p', { class: 'muted small', 'data-dates': '' }, dates.join(' · ')),
          text && h('p', { class: `small ${applies ? 'ok' : signIn ? 'muted' : added ? 'error' : 'muted'}`, 'data-tray-outcome': '', ...reasonAttrs(reason) }, text),
        ),
        entry.automatic
          ? h('span', { class: 'badge muted' }, ui().automatic)
          : h(
              'button',
              {
                type: 'button',
                class: added ? (applies ? 'state added' : 'state pending') : '',
                disabled: Boolean(added),
                'aria-label': added
                  ? applies
                    ? ui().addedAria(entry.name, entry.code)
                    : ui().addedNotYetAria(entry.name, entry.code)
                  : ui().applyAria(entry.name, entry.code),
                onclick: () => addCodes(entry.code),
              },
              added ? (applies ? ui().added : ui().addedNotYet) : ui().apply,
            ),
      );
    }),
  );
}

/**
 * A breakdown table for an evaluation: the preview, or what the shop confirmed. `items` are the cart
 * lines it priced (`{ product_id, quantity }`): a result line is its id and amounts only.
 */
function breakdownTable(ev, caption, items) {
  const names = new Map(state.shop.products.map((p) => [p.id, productName(p)]));
  const sent = new Map(items.map((l) => [lineId(l.product_id), l]));
  const lineName = (id) => {
    const l = sent.get(id);
    return l ? `${names.get(l.product_id) ?? l.product_id} × ${state.words.count(l.quantity)}` : id;
  };
  const feeName = (id) => state.words.fee(id);
  // The raw decimal strings ride along in data-* attributes, for tests and for a shop's own scripts.
  const row = (label, a, attrs = {}) =>
    h(
      'tr',
      { ...attrs, 'data-original': a.original, 'data-discount': a.discount, 'data-final': a.final },
      h('th', { scope: 'row' }, label),
      h('td', {}, fmt(a.original)),
      h('td', { class: isZero(a.discount) ? '' : 'discount' }, isZero(a.discount) ? fmt(a.discount) : `−${fmt(a.discount)}`),
      h('td', {}, fmt(a.final)),
    );
  const total = (label, amount, attrs = {}, minus = false) =>
    h('tr', { ...attrs, 'data-amount': amount }, h('th', { scope: 'row', colspan: '3' }, label), h('td', {}, minus && !isZero(amount) ? `−${fmt(amount)}` : fmt(amount)));
  const u = ui();
  return h(
    'table',
    { class: 'breakdown' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, u.item), h('th', { scope: 'col' }, u.price), h('th', { scope: 'col' }, u.discount), h('th', { scope: 'col' }, u.youPay))),
    h(
      'tbody',
      {},
      ev.lines.map((l) => row(lineName(l.id), l, { 'data-line': l.id })),
      ev.shipping && row(u.shipping, ev.shipping, { 'data-line': 'shipping' }),
      ev.fees.map((f) => row(feeName(f.id), f, { 'data-line': `fee-${f.id}` })),
    ),
    h(
      'tfoot',
      {},
      total(u.subtotal, ev.totals.subtotal, { 'data-total': 'subtotal' }),
      total(u.shipping, ev.totals.shipping, { 'data-total': 'shipping' }),
      total(u.fees, ev.totals.fees, { 'data-total': 'fees' }),
      total(u.discounts, ev.totals.discount, { 'data-total': 'discount' }, true),
      total(u.total, ev.totals.total, { 'data-total': 'total', class: 'total' }),
    ),
  );
}

/** The breakdown in one sentence, for the live region; set only when it changes, so it is read once. */
function announce(ev) {
  let text = '';
  if (ev && state.lines.length > 0) {
    const notApplied = ev.rejected.filter((r) => !needsSignIn(r)).length + state.refused.size;
    text = ui().live(fmt(ev.totals.total), isZero(ev.totals.discount) ? null : fmt(ev.totals.discount), notApplied);
  } else if (state.previewError || state.manifestError) {
    text = ui().noPricesNow;
  }
  const live = $('breakdown-live');
  if (live.textContent !== text) live.textContent = text;
}

/**
 * Says when the preview is not priced with the profile the shop just sent: the saved copy (offline,
 * or the route failed), or no profile at all (member prices and offers may be missing). The shop
 * prices the order with the stored profile in any case.
 */
function profileNote() {
  const p = state.profile;
  if (!p || p.source === 'edge') return null;
  const words_ = ui().problem;
  const problem = p.problem?.kind === 'http' ? words_.http(p.problem.status) : words_[p.problem?.kind] ?? words_.other;
  const text = p.source === 'saved' ? ui().profileSaved(problem, state.words.dateTime(p.savedAt)) : ui().profileNone(problem);
  return h('p', { class: 'banner banner-warn', 'data-profile-note': p.source }, text);
}

/** The total and Place order: in the summary on a wide screen, a bar along the bottom on a phone. */
function renderBar(ev) {
  // Just ordered, nothing new in the cart: the confirmation speaks; no disabled button under it.
  $('checkout-bar').hidden = state.order?.kind === 'placed' && state.lines.length === 0;
  const total = $('bar-total');
  if (!ev || state.lines.length === 0) {
    total.replaceChildren(h('span', {}, ui().total), h('strong', {}, ev ? fmt(ev.totals.total) : '–'));
    total.dataset.amount = ev?.totals.total ?? '';
    return;
  }
  total.dataset.amount = ev.totals.total;
  total.replaceChildren(
    h('span', {}, ui().total),
    h('strong', {}, fmt(ev.totals.total)),
    !isZero(ev.totals.discount) && h('span', { class: 'save small' }, ui().youSave(fmt(ev.totals.discount))),
  );
}

function renderBreakdown() {
  const box = $('breakdown');
  const ev = state.evaluation;
  announce(ev);
  renderBar(ev);
  if (!ev) {
    const err = state.previewError;
    if (err) console.warn('preview failed:', err.code, err.message);
    box.replaceChildren(
      h(
        'p',
        { class: err || state.manifestError ? 'error' : 'muted', ...(err ? { title: `${err.code ?? 'ERROR'}: ${err.message}` } : {}) },
        err ? ui().previewFailed : state.manifestError ? ui().noPrices : ui().waitPrices,
      ),
    );
    return;
  }
  const u = ui();
  const notApplied = ev.rejected.filter((r) => !needsSignIn(r));
  const forSignedIn = ev.rejected.filter(needsSignIn);
  const offline = online() ? null : h('p', { class: 'banner banner-warn', 'data-offline-note': '' }, u.offlineNote);
  box.replaceChildren(
    ...[
      offline,
      profileNote(),
      state.lines.length === 0
        ? state.order?.kind !== 'placed' && h('p', { class: 'muted' }, u.addProducts)
        : breakdownTable(ev, u.breakdown, state.lines),
      ev.cashback_points > 0 && h('p', { 'data-cashback': String(ev.cashback_points) }, u.points(state.words.count(ev.cashback_points))),
      ev.applied.length > 0 &&
        h(
          'div',
          { class: 'applied' },
          h('h3', {}, u.savings),
          h(
            'ul',
            {},
            ev.applied.map((a) =>
              h('li', { 'data-applied': a.coupon_id }, u.savingLine(a.code ? `${a.name} (${a.code})` : a.name, gives(a), a.budget_capped)),
            ),
          ),
        ),
      (notApplied.length > 0 || state.refused.size > 0) &&
        h(
          'div',
          { class: 'rejected' },
          h('h3', {}, u.notApplied),
          h(
            'ul',
            {},
            [...state.refused.values()].map((r) =>
              h('li', { 'data-rejected': r.code, 'data-refused-by': 'shop', ...reasonAttrs(r.reason) }, h('span', { class: 'code' }, r.code), ': ', u.refusedByShop(sentence(r))),
            ),
            notApplied.map((r) => h('li', { 'data-rejected': r.code, ...reasonAttrs(r.reason) }, h('span', { class: 'code' }, r.code), ': ', sentence(r))),
          ),
        ),
      forSignedIn.length > 0 &&
        h(
          'div',
          { class: 'sign-in' },
          h('h3', {}, u.forSignedIn),
          h(
            'ul',
            {},
            forSignedIn.map((r) => h('li', { 'data-sign-in': r.code, ...reasonAttrs(r.reason) }, h('span', { class: 'code' }, r.code), ': ', sentence(r))),
          ),
        ),
    ].filter(Boolean),
  );
}

let shownOrderKind = null;

function renderOrder() {
  const u = ui();
  const button = $('place-order');
  button.disabled = state.ordering || !state.evaluation || state.lines.length === 0;
  button.setAttribute('aria-busy', String(state.ordering));
  button.textContent = state.ordering ? u.placing : u.placeOrder;

  const box = $('order-status');
  const o = state.order;
  box.dataset.state = o?.kind ?? '';
  box.removeAttribute('title'); // set below, for developers, when there is a technical detail
  const alert = ['offline', 'network', 'retryable', 'refused', 'codes-refused', 'no-backend', 'backend-down', 'payment-failed'];
  box.setAttribute('role', o && alert.includes(o.kind) ? 'alert' : 'status');
  // A new outcome is brought into view: on a phone the summary is far below the bar's button.
  if (o?.kind !== shownOrderKind) {
    shownOrderKind = o?.kind ?? null;
    if (o && o.kind !== 'placing' && o.kind !== 'paying') requestAnimationFrame(() => box.scrollIntoView({ block: 'nearest' }));
  }
  if (!o) return box.replaceChildren();
  const fail = ([head, tail], middle = '') => box.replaceChildren(h('p', { class: 'error' }, h('strong', {}, head), middle, tail));
  if (o.kind === 'placing') return box.replaceChildren(h('p', {}, u.reserving));
  if (o.kind === 'paying') return box.replaceChildren(h('p', {}, u.paying));
  if (o.kind === 'no-backend') return fail(u.noBackend);
  if (o.kind === 'backend-down') {
    console.warn('shop sign-in:', o.problem);
    return fail(u.backendDown);
  }
  if (o.kind === 'payment-failed') {
    box.title = `${o.error?.code ?? ''}: ${o.error?.message ?? ''}`;
    return fail(u.paymentFailed);
  }
  if (o.kind === 'offline') return fail(u.offline);
  if (o.kind === 'network') {
    return box.replaceChildren(
      h(
        'p',
        { class: 'error' },
        h('strong', {}, o.offlineNow ? u.dropped : u.noAnswer),
        u.cannotTell,
        o.offlineNow ? u.againOnline : u.again,
        u.sameKey,
      ),
    );
  }
  if (o.kind === 'retryable') {
    box.title = `${o.error?.code ?? ''}: ${o.error?.message ?? ''}`;
    return fail(u.busy);
  }
  if (o.kind === 'codes-refused') {
    const ev = state.evaluation;
    const [head, tail] = u.noLongerAccepts(state.words.list(o.refused.map((r) => r.code ?? r.coupon_id), 'and'));
    return box.replaceChildren(
      ...[
        h('p', { class: 'error' }, h('strong', {}, head, tail)),
        h('ul', {}, o.refused.map((r) => h('li', { 'data-refused': r.code ?? r.coupon_id, ...reasonAttrs(r.reason) }, h('span', { class: 'code' }, r.code ?? ''), ': ', sentence(r)))),
        ev && h('p', {}, u.withoutThem(o.refused.length, fmt(ev.totals.total), fmt(o.preview.totals.total)), u.nothingCharged),
      ].filter(Boolean),
    );
  }
  if (o.kind === 'refused') {
    // The shop's own message is for its developers; the code and message stay in the title.
    box.title = `${o.error?.code ?? ''}: ${o.error?.message ?? ''}`;
    return box.replaceChildren(
      h('p', { class: 'error', 'data-error': o.error?.code ?? '' }, h('strong', {}, o.stage === 'payment' ? u.refusedPayment : u.refusedOrder), o.stage === 'payment' ? u.tryAgain : ''),
    );
  }
  // Placed: the order number, what was saved, the amounts the shop confirmed, and why they differ
  // from the preview when they do. The redemption id is the shop's business, not the shopper's: it
  // stays in a data attribute.
  const r = o.redemption ?? {};
  const c = o.confirmed;
  const same = c && c.totals.total === o.preview.totals.total && o.notes.length === 0;
  const saved = c ? c.totals.discount : o.preview.totals.discount;
  box.replaceChildren(
    ...[
      h(
        'p',
        { class: 'ok', 'data-redemption': r.id ?? '', 'data-redemption-status': r.status ?? '', 'data-order-number': o.orderNumber },
        h('strong', {}, u.placed),
        `${u.orderNumber} `,
        h('span', { class: 'nowrap' }, o.orderNumber),
        '.',
        // A retry after a lost answer gets the first answer again: say so, so nobody worries.
        o.replayed ? u.replayed : '',
      ),
      !isZero(saved) && h('p', { class: 'ok', 'data-saved': saved }, h('strong', {}, u.saved(fmt(saved)))),
      c && breakdownTable(c, u.confirmed, o.lines),
      c && same && h('p', { 'data-confirmed': 'same' }, u.same),
      c &&
        !same &&
        h(
          'div',
          { 'data-confirmed': 'different' },
          h('p', {}, h('strong', {}, u.differs(fmt(c.totals.total), fmt(o.preview.totals.total)))),
          h('ul', {}, o.notes.map((n) => h('li', {}, n))),
        ),
      !c && h('p', { class: 'error' }, u.noConfirmed),
    ].filter(Boolean),
  );
}

function render() {
  renderHeader();
  renderCart();
  renderCodes();
  renderTray();
  renderBreakdown();
  renderOrder();
  if (state.evaluation && !state.firstPreviewMarked) {
    // The test reads this mark: time from navigation start to the first preview on screen.
    state.firstPreviewMarked = true;
    performance.mark('first-preview');
  }
}

// ---------------------------------------------------------------------------------------------
// Start.

async function main() {
  // The service worker keeps the page, the package and the last manifest for offline use.
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js').catch((err) => console.warn('offline cache unavailable:', err));
  }
  // The manifest and the shop data load in parallel: both are on the path to the first preview.
  const manifest = loadManifest();
  const res = await fetch('/shop.json');
  if (!res.ok) throw new Error(`shop.json: HTTP ${res.status}`);
  state.shop = await res.json();
  makeWords();
  renderStaticWords();
  document.title = ui().title(state.shop.name);
  $('shop-name').textContent = state.shop.name;
  restoreCart();
  renderProducts();
  render();
  // Who the shopper is: a token from the shop's backend ("backend" in shop.json). Then the user's
  // context from the edge, in parallel with the manifest: both are on the path to the first preview
  // (priced with the wrong tier first, it would change under the shopper's eyes).
  let started = false;
  state.session = createSession(state.shop.backend, {
    // Another user, signed in again after an outage, or the sign-in lost: price for whoever it is now.
    onChange: () => {
      if (!started) return;
      restoreAssignments();
      loadProfile().then(() => {
        recompute();
        refreshEdgeTray();
      });
    },
  });
  const profile = state.session.refresh().then(() => {
    restoreAssignments();
    return loadProfile();
  });

  $('code-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $('code-input');
    const problems = addCodes(input.value);
    $('code-error').textContent = problems.join(' ');
    input.setAttribute('aria-invalid', String(problems.length > 0));
    if (problems.length === 0) input.value = '';
  });
  $('place-order').addEventListener('click', placeOrder);
  window.addEventListener('online', () => {
    if (state.order?.kind === 'offline') state.order = null;
    refreshManifest(); // back online: pick up a newer manifest (and drop the offline note)
    // and a session, the current profile and the edge's tray
    state.session.refresh().then(loadProfile).then(() => {
      recompute();
      refreshEdgeTray();
    });
  });
  window.addEventListener('offline', render);
  // Coupons a campaign gives or unlocks for this user (an abandoned cart, a sign-up, a purchase)
  // reach the tray when the shopper comes back to the tab, and every minute while it is open: the
  // context (events, activations) and the edge's tray (assignments with their codes) are asked again.
  const trayTick = () => {
    if (document.visibilityState === 'visible' && online()) loadProfile().then(refreshEdgeTray);
  };
  document.addEventListener('visibilitychange', trayTick);
  setInterval(trayTick, 60e3);

  await profile;
  started = true;
  await refreshManifest(manifest);
  if (online()) refreshEdgeTray(); // after the first preview: it is not on that path
}

main().catch((err) => {
  console.error('the checkout could not start:', err);
  $('manifest-problem').hidden = false;
  $('manifest-problem').title = err.message;
  $('manifest-problem').textContent = state.words?.ui.startFailed ?? 'The checkout could not start. Please reload the page.';
});
