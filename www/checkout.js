// The checkout page. Every amount on it comes from the Wasm engine, run here against the shop's
// signed manifest; the page only gathers the cart, the codes and the user, and shows the result.
import { api, loadVerifiedManifest } from './engine.js';
import { dateTime, h, isZero, money } from './format.js';
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

const state = {
  shop: null,
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

const fmt = (amount) => money(amount, state.shop.currency, state.shop.locale);
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
    if (state.session.source() !== 'backend') throw new Error(`the shop's sign-in did not answer: ${state.session.problem()}`);
    const res = await state.session.fetch(api(`/users/${encodeURIComponent(id)}/context`), {
      cache: 'no-store',
      signal: AbortSignal.timeout(CONTEXT_TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`the shop answered HTTP ${res.status}`);
    const context = await res.json();
    if (context?.id !== id) throw new Error('the shop answered for another user');
    const savedAt = new Date().toISOString();
    localStorage.setItem(CONTEXT_KEY, JSON.stringify({ user: id, context, saved_at: savedAt }));
    state.profile = { context, source: 'edge', savedAt };
  } catch (err) {
    const problem = online() ? `the shop did not send it (${err.message})` : 'you are offline';
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

/** The EvaluateRequest for the current cart, built the same way every time (order.js relies on it). */
function buildRequest(codes = liveCodes()) {
  const { shop } = state;
  const products = new Map(shop.products.map((p) => [p.id, p]));
  const lines = state.lines.map((l) => {
    const p = products.get(l.product_id);
    return { id: `line-${p.id}`, product_id: p.id, quantity: l.quantity, unit_price: p.unit_price, attributes: p.attributes };
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
    const { engine, cachedAt } = value;
    state.engine?.free();
    state.engine = engine;
    state.cachedAt = cachedAt;
    state.manifestError = null;
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
  if (!state.engine) return ['Codes can be added once the price list is loaded.'];
  const problems = [];
  const ctx = { ...userContext(), now: nowIso() };
  for (const raw of text.split(/[,;\n]+/).map((s) => s.trim()).filter(Boolean)) {
    let normalised;
    try {
      // The engine's own normalisation ("save-10" is SAVE10), so the list shows each code once.
      normalised = state.engine.checkCode(raw, ctx).code;
    } catch (err) {
      problems.push(`"${raw}" is not a code: ${err.message.replace(/^codes?(\[\d+\])?: /, '')}.`);
      continue;
    }
    if (state.codes.includes(normalised)) problems.push(`${normalised} is already in your list.`);
    else if (state.codes.length >= MAX_CODES) problems.push(`At most ${MAX_CODES} codes per order; ${normalised} was not added.`);
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
        orderId: paid.body?.order?.order_id ?? attempt.orderId,
        replayed: outcome.replayed,
        preview,
        confirmed,
        notes: confirmed ? explainDifferences(preview, confirmed, fmt) : [],
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

/** Who the page prices for, in the header: the shop's session, the identity last known, or nobody. */
function signedInText() {
  const session = state.session;
  if (!session) return '';
  const name = session.displayName();
  if (session.source() === 'backend') return `Signed in as ${name}`;
  if (session.source() === 'saved') return `${name} (${online() ? 'the shop\'s sign-in did not answer' : 'offline'}: offers as saved on this device)`;
  return session.backend ? 'Not signed in (the shop\'s sign-in did not answer): offers for every shopper' : 'Not signed in: offers for every shopper';
}

function renderHeader() {
  $('signed-in').textContent = signedInText();
  $('connection').textContent = online() ? 'Online' : 'Offline: preview only';
  $('connection').className = `pill ${online() ? 'online' : 'offline'}`;

  const problem = $('manifest-problem');
  const err = state.manifestError;
  if (!state.engine && err) {
    problem.hidden = false;
    problem.replaceChildren(
      h('strong', {}, err.code === 'MANIFEST_EXPIRED' ? 'The price list has expired. ' : 'The price list could not be used. '),
      `${err.message}. `,
      err.code === 'MANIFEST_EXPIRED' || err.code === 'NETWORK'
        ? online()
          ? 'Discounts and totals cannot be shown until the shop serves a current one; please try again shortly.'
          : 'Discounts and totals cannot be shown until you are back online and the current one is loaded.'
        : 'Discounts and totals cannot be shown.',
    );
  } else {
    problem.hidden = true;
    problem.replaceChildren();
  }

  const status = $('manifest-status');
  if (state.engine) {
    // A copy from the service worker's cache: offline, or online while the shop did not answer.
    const saved = state.cachedAt && `using the copy saved ${dateTime(state.cachedAt, state.shop.locale)}.`;
    const from = !saved ? '' : online() ? ` The shop could not be reached: ${saved}` : ` Offline: ${saved}`;
    status.textContent = `Price list ${state.engine.manifestId} verified in this browser.${from}`;
  } else if (!err) {
    status.textContent = 'Loading the engine and the price list…';
  } else {
    status.textContent = '';
  }
  $('code-apply').disabled = !state.engine;
}

function renderProducts() {
  $('products').replaceChildren(
    ...state.shop.products.map((p) =>
      h(
        'li',
        { 'data-product': p.id },
        h('div', { class: 'item-text' }, h('h3', {}, p.name), h('p', { class: 'muted small' }, p.description), h('p', {}, fmt(p.unit_price))),
        h('button', { type: 'button', onclick: () => addProduct(p.id), 'aria-label': `Add ${p.name} to cart` }, 'Add to cart'),
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
        { 'data-line': `line-${p.id}` },
        h('div', { class: 'item-text' }, h('p', {}, p.name), h('p', { class: 'muted small' }, `${fmt(p.unit_price)} each`)),
        h(
          'div',
          { class: 'qty' },
          h('label', { for: inputId }, `Quantity of ${p.name}`),
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
          h('button', { type: 'button', class: 'link', onclick: () => setQuantity(p.id, 0), 'aria-label': `Remove ${p.name}` }, 'Remove'),
        ),
      );
    }),
  );
  const select = $('payment-method');
  if (select.options.length === 0) {
    select.append(...state.shop.payment_methods.map((m) => h('option', { value: m.id }, m.label)));
    select.addEventListener('change', () => {
      state.payment = select.value;
      saveCart();
      recompute();
    });
  }
  select.value = state.payment ?? '';
}

/** What one applied coupon gives, in words. */
function gives(applied) {
  const parts = [];
  if (!isZero(applied.discount)) parts.push(`saves ${fmt(applied.discount)}`);
  if (applied.cashback_points > 0) parts.push(`earns ${applied.cashback_points} points`);
  return parts.join(' and ') || 'gives nothing on this cart';
}

function codeOutcome(code) {
  const refused = state.refused.get(code);
  if (refused) return { ok: false, text: `Not applied: ${refused.reason.message} (the shop said so when you placed the order)` };
  const ev = state.evaluation;
  if (!ev) return null;
  const applied = ev.applied.find((a) => a.code === code);
  if (applied) {
    const pending = applied.verification === 'format_only' ? ' (the shop checks this code when you order)' : '';
    return { ok: true, text: `Applied: ${gives(applied)}${pending}` };
  }
  const rejected = ev.rejected.find((r) => r.code === code);
  if (rejected && needsSignIn(rejected)) return { ok: false, signIn: true, text: signInText(rejected) };
  return rejected ? { ok: false, text: `Not applied: ${rejected.reason.message}` } : null;
}

/**
 * A coupon for signed-in shoppers, asked for by an anonymous one: not a mistake of theirs, so it is
 * said as what to do (sign in), not as an error.
 */
const needsSignIn = (rejected) => rejected.reason?.code === 'SIGN_IN_REQUIRED';
const signInText = (rejected) => `${rejected.reason.message.charAt(0).toUpperCase()}${rejected.reason.message.slice(1)}.`;

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
              { class: `small ${outcome.ok ? 'ok' : outcome.signIn ? 'muted' : 'error'}`, 'data-outcome': outcome.ok ? 'applied' : outcome.signIn ? 'sign-in' : 'rejected' },
              outcome.text,
            ),
        ),
        h('button', { type: 'button', class: 'link', onclick: () => removeCode(code), 'aria-label': `Remove code ${code}` }, 'Remove'),
      );
    }),
  );
}

/** The tray with, for each coupon, whether it works on this cart; the ones that do come first. */
function trayView() {
  const now = nowIso();
  const entries = state.engine
    .tray({ ...userContext(), now })
    .filter((e) => !state.pausedAtEdge.has(e.coupon_id));
  const ev = state.evaluation;
  const views = entries.map((entry) => {
    const inCart = ev?.applied.find((a) => a.coupon_id === entry.coupon_id);
    if (entry.automatic) {
      return inCart
        ? { entry, applies: true, text: `Applied automatically: ${gives(inCart)}.` }
        : { entry, applies: false, text: 'Applied automatically once your cart qualifies.' };
    }
    if (state.codes.includes(entry.code)) {
      const outcome = codeOutcome(entry.code);
      return { entry, applies: Boolean(outcome?.ok), added: true, signIn: outcome?.signIn, text: outcome ? (outcome.signIn ? outcome.text : `${outcome.text}.`) : '' };
    }
    // Priced alone against this cart: the engine says what it would give, or why not.
    let alone;
    try {
      alone = state.engine.evaluate({ ...buildRequest([entry.code]), now });
    } catch (err) {
      return { entry, applies: false, text: err.message };
    }
    const applied = alone.applied.find((a) => a.coupon_id === entry.coupon_id);
    if (applied) return { entry, applies: true, text: `On this cart it ${gives(applied)}.` };
    const rejected = alone.rejected.find((r) => r.coupon_id === entry.coupon_id);
    if (rejected && needsSignIn(rejected)) return { entry, applies: false, signIn: true, text: signInText(rejected) };
    return { entry, applies: false, text: rejected ? `Not for this cart yet: ${rejected.reason.message}.` : '' };
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
    $('tray').replaceChildren(h('li', { class: 'muted' }, 'Your coupons show once the price list is loaded.'));
    return;
  }
  const { locale } = state.shop;
  const views = trayView();
  if (views.length === 0) {
    $('tray').replaceChildren(h('li', { class: 'muted' }, 'No coupons for you right now.'));
    return;
  }
  $('tray').replaceChildren(
    ...views.map(({ entry, applies, added, signIn, text }) => {
      const until = entry.expires_at ? `Valid until ${dateTime(entry.expires_at, locale)}` : 'No end date';
      const from = entry.redeemable_from ? `Usable from ${dateTime(entry.redeemable_from, locale)}. ` : '';
      const fresh = isNew(entry.coupon_id);
      return h(
        'li',
        { 'data-coupon': entry.coupon_id, 'data-applies': String(applies), 'data-new': String(fresh), 'data-sign-in': String(Boolean(signIn)), class: applies ? 'applicable' : '' },
        h(
          'div',
          { class: 'item-text' },
          h('h3', {}, entry.name, fresh && h('span', { class: 'badge new' }, 'New')),
          h('p', {}, entry.summary),
          h('p', { class: 'muted small' }, `${from}${until}.`),
          text && h('p', { class: `small ${applies ? 'ok' : 'muted'}` }, text),
        ),
        entry.automatic
          ? h('span', { class: 'badge muted' }, 'Automatic')
          : h(
              'button',
              {
                type: 'button',
                disabled: Boolean(added),
                'aria-label': added ? `${entry.name}: code ${entry.code} added` : `Apply ${entry.name} (code ${entry.code})`,
                onclick: () => addCodes(entry.code),
              },
              added ? 'Added' : 'Apply',
            ),
      );
    }),
  );
}

/** A breakdown table for an evaluation: the preview, or what the shop confirmed. */
function breakdownTable(ev, caption) {
  const names = new Map(state.shop.products.map((p) => [p.id, p.name]));
  const feeNames = new Map((state.shop.fees ?? []).map((f) => [f.id, f.name ?? f.id]));
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
  return h(
    'table',
    { class: 'breakdown' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Item'), h('th', { scope: 'col' }, 'Price'), h('th', { scope: 'col' }, 'Discount'), h('th', { scope: 'col' }, 'You pay'))),
    h(
      'tbody',
      {},
      ev.lines.map((l) => row(`${names.get(l.product_id) ?? l.product_id} × ${l.quantity}`, l, { 'data-line': l.id })),
      ev.shipping && row('Shipping', ev.shipping, { 'data-line': 'shipping' }),
      ev.fees.map((f) => row(feeNames.get(f.id) ?? f.id, f, { 'data-line': `fee-${f.id}` })),
    ),
    h(
      'tfoot',
      {},
      total('Subtotal', ev.totals.subtotal, { 'data-total': 'subtotal' }),
      total('Shipping', ev.totals.shipping, { 'data-total': 'shipping' }),
      total('Fees', ev.totals.fees, { 'data-total': 'fees' }),
      total('Discounts', ev.totals.discount, { 'data-total': 'discount' }, true),
      total('Total', ev.totals.total, { 'data-total': 'total', class: 'total' }),
    ),
  );
}

/** The breakdown in one sentence, for the live region; set only when it changes, so it is read once. */
function announce(ev) {
  let text = '';
  if (ev && state.lines.length > 0) {
    const notApplied = ev.rejected.length + state.refused.size;
    text = `Total ${fmt(ev.totals.total)}` +
      (isZero(ev.totals.discount) ? '' : `, you save ${fmt(ev.totals.discount)}`) +
      (notApplied ? `; ${notApplied} code${notApplied > 1 ? 's' : ''} not applied` : '') + '.';
  } else if (state.previewError || state.manifestError) {
    text = 'No prices can be shown right now.';
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
  const text = p.source === 'saved'
    ? `Your customer profile could not be loaded (${p.problem}): using the copy saved ${dateTime(p.savedAt, state.shop.locale)}. The shop prices the order with your current profile.`
    : `Your customer profile could not be loaded (${p.problem}): this preview leaves out offers that depend on it (member tier, segments). The shop prices the order with your profile.`;
  return h('p', { class: 'banner banner-warn', 'data-profile-note': p.source }, text);
}

function renderBreakdown() {
  const box = $('breakdown');
  const ev = state.evaluation;
  announce(ev);
  if (!ev) {
    const err = state.previewError;
    box.replaceChildren(
      h(
        'p',
        { class: err || state.manifestError ? 'error' : 'muted' },
        err
          ? `The preview could not be computed: ${err.message}.`
          : state.manifestError
            ? 'No prices without a valid price list (see the message above).'
            : 'The preview appears once the price list is verified.',
      ),
    );
    return;
  }
  const notApplied = ev.rejected.filter((r) => !needsSignIn(r));
  const forSignedIn = ev.rejected.filter(needsSignIn);
  const offline = online() ? null : h('p', { class: 'banner banner-warn', 'data-offline-note': '' }, 'You are offline. This preview is computed in your browser from the saved price list; placing the order needs a connection.');
  box.replaceChildren(
    ...[
      offline,
      profileNote(),
      state.lines.length === 0 ? h('p', { class: 'muted' }, 'Add products to see the price.') : breakdownTable(ev, 'Price breakdown'),
      ev.cashback_points > 0 && h('p', { 'data-cashback': String(ev.cashback_points) }, `You earn ${ev.cashback_points} points with this order.`),
      ev.applied.length > 0 &&
        h(
          'div',
          { class: 'applied' },
          h('h3', {}, 'Savings'),
          h(
            'ul',
            {},
            ev.applied.map((a) =>
              h('li', { 'data-applied': a.coupon_id }, `${a.name} (${a.code ?? 'automatic'}): ${gives(a)}${a.budget_capped ? ', cut to what is left of its budget' : ''}.`),
            ),
          ),
        ),
      (notApplied.length > 0 || state.refused.size > 0) &&
        h(
          'div',
          { class: 'rejected' },
          h('h3', {}, 'Codes not applied'),
          h(
            'ul',
            {},
            [...state.refused.values()].map((r) =>
              h('li', { 'data-rejected': r.code, 'data-refused-by': 'shop' }, h('span', { class: 'code' }, r.code), `: ${r.reason.message} (the shop's answer when you placed the order).`),
            ),
            notApplied.map((r) => h('li', { 'data-rejected': r.code }, h('span', { class: 'code' }, r.code), `: ${r.reason.message}.`)),
          ),
        ),
      forSignedIn.length > 0 &&
        h(
          'div',
          { class: 'sign-in' },
          h('h3', {}, 'For signed-in shoppers'),
          h(
            'ul',
            {},
            forSignedIn.map((r) => h('li', { 'data-sign-in': r.code }, h('span', { class: 'code' }, r.code), `: ${signInText(r)}`)),
          ),
        ),
    ].filter(Boolean),
  );
}

function renderOrder() {
  const button = $('place-order');
  button.disabled = state.ordering || !state.evaluation || state.lines.length === 0;
  button.setAttribute('aria-busy', String(state.ordering));
  button.textContent = state.ordering ? 'Placing your order…' : 'Place order';

  const box = $('order-status');
  const o = state.order;
  box.dataset.state = o?.kind ?? '';
  const alert = ['offline', 'network', 'retryable', 'refused', 'codes-refused', 'no-backend', 'backend-down', 'payment-failed'];
  box.setAttribute('role', o && alert.includes(o.kind) ? 'alert' : 'status');
  if (!o) return box.replaceChildren();
  if (o.kind === 'placing') return box.replaceChildren(h('p', {}, 'Reserving your coupons with the shop…'));
  if (o.kind === 'paying') return box.replaceChildren(h('p', {}, 'Your coupons are reserved. Taking the payment…'));
  if (o.kind === 'no-backend') {
    return box.replaceChildren(
      h('p', { class: 'error' }, h('strong', {}, 'Orders cannot be placed from this page. '), 'It has no shop checkout service to sign you in and take the payment ("backend" in shop.json). Prices above are a preview for every shopper.'),
    );
  }
  if (o.kind === 'backend-down') {
    return box.replaceChildren(
      h('p', { class: 'error' }, h('strong', {}, 'The shop\'s checkout could not be reached. '), `${o.problem ?? 'No answer'}. Nothing was reserved or charged; press Place order again in a moment.`),
    );
  }
  if (o.kind === 'payment-failed') {
    return box.replaceChildren(
      h('p', { class: 'error' }, h('strong', {}, 'Payment failed: the order was not placed. '), `${o.error.message}. Your cart is kept; press Place order to try again.`),
    );
  }
  if (o.kind === 'offline') {
    return box.replaceChildren(
      h('p', { class: 'error' }, h('strong', {}, 'Order not placed: you are offline. '), 'Nothing was redeemed or charged. Your cart is saved on this device; place the order again when you are back online.'),
    );
  }
  if (o.kind === 'network') {
    return box.replaceChildren(
      h(
        'p',
        { class: 'error' },
        h('strong', {}, o.offlineNow ? 'The connection dropped while your order was being sent. ' : 'No answer from the shop. '),
        'We cannot tell whether your order arrived. ',
        o.offlineNow ? 'When you are back online, press Place order again: ' : 'Press Place order again: ',
        'it is sent with the same order key, so it can never be placed twice.',
      ),
    );
  }
  if (o.kind === 'retryable') {
    return box.replaceChildren(
      h('p', { class: 'error' }, h('strong', {}, 'The shop could not take the order just now. '), `${o.error.message}. Press Place order again: it is safe to retry.`),
    );
  }
  if (o.kind === 'codes-refused') {
    const ev = state.evaluation;
    return box.replaceChildren(
      ...[
        h('p', { class: 'error' }, h('strong', {}, 'Order not placed: the shop no longer accepts '), `${o.refused.map((r) => r.code ?? r.coupon_id).join(', ')}.`),
        h('ul', {}, o.refused.map((r) => h('li', { 'data-refused': r.code ?? r.coupon_id }, `${r.code ?? r.coupon_id}: ${r.reason.message}.`))),
        ev &&
          h(
            'p',
            {},
            `Without ${o.refused.length > 1 ? 'them' : 'it'} your total is ${fmt(ev.totals.total)} (it was ${fmt(o.preview.totals.total)}). `,
            'Nothing was redeemed or charged; press Place order to order at this price.',
          ),
      ].filter(Boolean),
    );
  }
  if (o.kind === 'refused') {
    const what = o.stage === 'payment' ? 'The shop could not complete the order. ' : 'The shop refused the order. ';
    return box.replaceChildren(h('p', { class: 'error' }, h('strong', {}, what), `${o.error.message} (${o.error.code}).`, o.stage === 'payment' ? ' Press Place order to try again.' : ''));
  }
  // Placed: the amounts the shop confirmed, and why they differ from the preview when they do.
  const r = o.redemption ?? {};
  const c = o.confirmed;
  const same = c && c.totals.total === o.preview.totals.total && o.notes.length === 0;
  box.replaceChildren(
    ...[
      h(
        'p',
        { class: 'ok', 'data-redemption': r.id ?? '' },
        h('strong', {}, 'Order placed. '),
        `Order ${r.order_id ?? o.orderId}, redemption ${r.id ?? 'unknown'} (${r.status ?? 'status unknown'}).`,
        // A retry after a lost answer gets the first answer again: say so, so nobody worries.
        o.replayed ? ' The shop had already received this order; it was placed once.' : '',
      ),
      c && breakdownTable(c, 'Confirmed by the shop'),
      c && same && h('p', { 'data-confirmed': 'same' }, 'The shop confirmed the same amounts as your preview.'),
      c &&
        !same &&
        h(
          'div',
          { 'data-confirmed': 'different' },
          h('p', {}, h('strong', {}, `The shop's total is ${fmt(c.totals.total)}, not the ${fmt(o.preview.totals.total)} of your preview:`)),
          h('ul', {}, o.notes.map((n) => h('li', {}, n))),
        ),
      !c && h('p', { class: 'error' }, 'The shop did not return the confirmed amounts.'),
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
  document.title = `Checkout · ${state.shop.name}`;
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
  $('manifest-problem').hidden = false;
  $('manifest-problem').textContent = `The checkout could not start: ${err.message}`;
});
