// Placing an order: POST /redemptions with an Idempotency-Key. The key (and the exact body) belong to
// one order attempt: a double click, a retry after a lost response, or a reload while the request was
// in flight all send the same key and the same bytes, so the Worker redeems at most once and replays
// its first answer. A changed cart is a new attempt with a new key.
import { api } from './engine.js';

const STORAGE_KEY = 'edge-coupons:order-attempt';

const randomId = () => crypto.randomUUID();

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
  const orderId = `web-${randomId()}`;
  const attempt = {
    key: randomId(),
    orderId,
    fingerprint,
    // Frozen once: a retry must send the same bytes, or the Worker answers 409 (same key, other body).
    body: JSON.stringify({ ...request, order_id: orderId }),
    createdAt: new Date().toISOString(),
  };
  storage.setItem(STORAGE_KEY, JSON.stringify(attempt));
  return attempt;
}

/** The attempt got a final answer (placed, or refused for good): the next order gets a new key. */
export const finishAttempt = (storage = localStorage) => storage.removeItem(STORAGE_KEY);

/**
 * Sends the attempt. Resolves to one of:
 *  { kind: 'placed', body, replayed }       2xx: the server-confirmed redemption (the first answer on replay)
 *  { kind: 'network' }                      no answer: the order may or may not have arrived; retry is safe
 *  { kind: 'retryable', status, error }     5xx or 429: the server could not take it now; retry is safe
 *  { kind: 'refused', status, error }       4xx: this attempt will never succeed as it is
 */
export async function sendAttempt(attempt) {
  let res;
  try {
    res = await fetch(api('/redemptions'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': attempt.key },
      body: attempt.body,
    });
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
 * A 201 from POST /redemptions is `{ redemption: { id, status, order_id, coupons }, evaluation }`: the
 * evaluation is the cart priced again at the edge with the live counters, which is what is charged.
 */
export const confirmedEvaluation = (body) => body?.evaluation ?? null;

/**
 * The codes the shop refused when the order was placed (409 CODES_REJECTED or COUPON_REFUSED: a limit
 * was reached meanwhile, the coupon was paused, a bulk code is unknown), as { code, coupon_id, reason }.
 */
export const refusedCodes = (error) => (Array.isArray(error?.rejected) ? error.rejected : []);

/**
 * Why the server-confirmed evaluation differs from the preview, in words, one entry per coupon that
 * changed. The reasons are the engine's (the Worker ran the same engine with live counters).
 */
export function explainDifferences(preview, confirmed, fmt) {
  const notes = [];
  const byId = (list) => new Map(list.map((a) => [a.coupon_id, a]));
  const was = byId(preview.applied);
  const now = byId(confirmed.applied);
  for (const [id, before] of was) {
    const after = now.get(id);
    const label = before.code ? `${before.name} (${before.code})` : before.name;
    if (!after) {
      const rejected = confirmed.rejected.find((r) => r.coupon_id === id || (before.code && r.code === before.code));
      notes.push(
        rejected
          ? `${label} was not applied to your order: ${rejected.reason.message}.`
          : `${label} no longer applies: it was paused or ended, or its conditions changed, after your preview.`,
      );
    } else if (after.discount !== before.discount) {
      notes.push(
        `${label} gave ${fmt(after.discount)} instead of ${fmt(before.discount)}` +
          (after.budget_capped ? ': its budget was nearly used up.' : '.'),
      );
    } else if (after.cashback_points !== before.cashback_points) {
      notes.push(`${label} gives ${after.cashback_points} points instead of ${before.cashback_points}.`);
    }
  }
  for (const [id, after] of now) {
    if (!was.has(id)) notes.push(`${after.code ? `${after.name} (${after.code})` : after.name} was applied at the edge as well.`);
  }
  if (notes.length === 0 && confirmed.totals.total !== preview.totals.total) {
    notes.push(`The shop's total is ${fmt(confirmed.totals.total)} instead of ${fmt(preview.totals.total)}.`);
  }
  return notes;
}
