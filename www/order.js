// Placing an order, in two steps, because a browser may only reserve coupon uses, never redeem them:
// 1. POST /redemptions with `hold` and an Idempotency-Key: the Worker prices the cart again and holds
//    the uses for HOLD. The key (and the exact body) belong to one order attempt: a double click, a
//    retry after a lost response, or a reload while the request was in flight all send the same key
//    and the same bytes, so the Worker reserves at most once and replays its first answer. A changed
//    cart is a new attempt with a new key.
// 2. POST ${backend}/orders with the reservation's id: the shop's backend takes the payment and
//    confirms the reservation at the Worker with its server credential (or reverts it when the payment
//    fails). It answers the same order for the same reservation, so retrying this step is safe too.
import { api } from './engine.js';

const STORAGE_KEY = 'edge-coupons:order-attempt';
/** How long the uses are held for the payment: the longest a browser may ask for. */
export const HOLD = 'PT15M';

const randomId = () => crypto.randomUUID();

// Crockford's base32 without I, L, O, U: nothing a shopper reading it out on the phone can confuse.
const ORDER_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/**
 * A new order number a shopper can read and quote: ten characters in two groups ("7K4PX-2XQ9M"),
 * 50 random bits. The shop's backend may answer its own number instead (order.order_number).
 */
export function newOrderNumber() {
  const bytes = crypto.getRandomValues(new Uint8Array(10));
  const chars = [...bytes].map((b) => ORDER_ALPHABET[b & 31]).join('');
  return `${chars.slice(0, 5)}-${chars.slice(5)}`;
}

/** The pending attempt for exactly this request, or a new one; kept in localStorage across reloads. */
export function attemptFor(request, storage = localStorage) {
  // The request is built the same way every time, so equal carts give equal strings.
  const fingerprint = JSON.stringify(request);
  try {
    const saved = JSON.parse(storage.getItem(STORAGE_KEY) ?? 'null');
    if (saved?.fingerprint === fingerprint) return saved;
  } catch {
    // unreadable: start a new attempt
  }
  const orderId = newOrderNumber();
  const attempt = {
    key: randomId(),
    orderId,
    fingerprint,
    // Frozen once: a retry must send the same bytes, or the Worker answers 409 (same key, other body).
    body: JSON.stringify({ ...request, order_id: orderId, hold: HOLD }),
    createdAt: new Date().toISOString(),
  };
  storage.setItem(STORAGE_KEY, JSON.stringify(attempt));
  return attempt;
}

/** The attempt got a final answer (placed, or refused for good): the next order gets a new key. */
export const finishAttempt = (storage = localStorage) => storage.removeItem(STORAGE_KEY);

/**
 * One answer, classified. Resolves to one of:
 *  { kind: 'placed', body, replayed }       2xx (the first answer again on an idempotent replay)
 *  { kind: 'network' }                      no answer: it may or may not have arrived; retry is safe
 *  { kind: 'retryable', status, error }     5xx or 429: the server could not take it now; retry is safe
 *  { kind: 'refused', status, error }       4xx: this attempt will never succeed as it is
 */
async function classify(request) {
  let res;
  try {
    res = await request;
  } catch {
    return { kind: 'network' };
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    // an empty or non-JSON body: described by the status below
  }
  if (res.ok) return { kind: 'placed', body, replayed: res.headers.get('idempotent-replayed') === 'true' };
  const error = body?.error ?? { code: `HTTP_${res.status}`, message: res.statusText || `HTTP ${res.status}` };
  if (res.status >= 500 || res.status === 429) return { kind: 'retryable', status: res.status, error };
  return { kind: 'refused', status: res.status, error };
}

/**
 * Step 1: reserves the coupon uses of the attempt (POST /redemptions with `hold`). `fetcher` adds the
 * shopper's token (session.js). A 201 is `{ redemption: { id, status: "reserved", expires_at, ... },
 * evaluation }`; the kinds are classify()'s.
 */
export const sendAttempt = (attempt, fetcher = fetch) =>
  classify(
    fetcher(api('/redemptions'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': attempt.key },
      body: attempt.body,
    }),
  );

/**
 * Step 2: pays for the reservation at the shop's backend (POST ${backend}/orders), which confirms it
 * at the Worker. Resolves to classify()'s kinds, with 'placed' as `{ order: { order_id, status:
 * "paid", redemption } }`, and one more:
 *  { kind: 'payment-failed', status: 402, error }  the payment was declined; the uses were given back
 */
export async function payOrder(backend, redemptionId, fetcher = fetch) {
  const outcome = await classify(
    fetcher(`${backend}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redemption_id: redemptionId }),
    }),
  );
  return outcome.kind === 'refused' && outcome.status === 402 ? { ...outcome, kind: 'payment-failed' } : outcome;
}

/**
 * A 201 from POST /redemptions is `{ redemption: { id, status, order_id, coupons }, evaluation }`: the
 * evaluation is the cart priced again at the edge with the live counters, which is what is charged
 * (the shop's backend confirms exactly that reservation).
 */
export const confirmedEvaluation = (body) => body?.evaluation ?? null;

/**
 * The codes the shop refused when the order was placed (409 CODES_REJECTED or COUPON_REFUSED: a limit
 * was reached meanwhile, the coupon was paused, a bulk code is unknown), as { code, coupon_id, reason }.
 */
export const refusedCodes = (error) => (Array.isArray(error?.rejected) ? error.rejected : []);

/** The English notes of explainDifferences; a page in another language passes its own (messages.js). */
const NOTES = {
  notApplied: (label, why) => `${label} was not applied to your order: ${why}`,
  noLonger: (label) => `${label} no longer applies: it was paused or ended, or its conditions changed, after your preview.`,
  gave: (label, now, was, capped) => `${label} gave ${now} instead of ${was}${capped ? ': its budget was nearly used up.' : '.'}`,
  points: (label, now, was) => `${label} gives ${now} points instead of ${was}.`,
  edge: (label) => `${label} was applied at the edge as well.`,
  total: (now, was) => `The shop's total is ${now} instead of ${was}.`,
};

/**
 * Why the server-confirmed evaluation differs from the preview, in words, one entry per coupon that
 * changed. The reasons are the engine's (the Worker ran the same engine with live counters); `why`
 * turns a rejected entry into the shopper's sentence (by default the engine's message).
 */
export function explainDifferences(preview, confirmed, fmt, { notes: say = NOTES, why = (r) => `${r.reason.message}.` } = {}) {
  const notes = [];
  const byId = (list) => new Map(list.map((a) => [a.coupon_id, a]));
  const was = byId(preview.applied);
  const now = byId(confirmed.applied);
  for (const [id, before] of was) {
    const after = now.get(id);
    const label = before.code ? `${before.name} (${before.code})` : before.name;
    if (!after) {
      const rejected = confirmed.rejected.find((r) => r.coupon_id === id || (before.code && r.code === before.code));
      notes.push(rejected ? say.notApplied(label, why(rejected)) : say.noLonger(label));
    } else if (after.discount !== before.discount) {
      notes.push(say.gave(label, fmt(after.discount), fmt(before.discount), after.budget_capped));
    } else if (after.cashback_points !== before.cashback_points) {
      notes.push(say.points(label, after.cashback_points, before.cashback_points));
    }
  }
  for (const [id, after] of now) {
    if (!was.has(id)) notes.push(say.edge(after.code ? `${after.name} (${after.code})` : after.name));
  }
  if (notes.length === 0 && confirmed.totals.total !== preview.totals.total) {
    notes.push(say.total(fmt(confirmed.totals.total), fmt(preview.totals.total)));
  }
  return notes;
}
