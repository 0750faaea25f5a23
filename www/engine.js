// Loads the Wasm engine and verifies the signed manifest in this browser. Shared by the checkout
// page and the stats page. The page computes every amount with the engine; it never trusts a price
// list it could not verify against the shop's keys.
import init, { CouponEngine } from './pkg/edge_coupons.js';

// The Worker's routes live at the site root (CONTRACT.md section 3). A shop that serves the API from
// another origin sets <meta name="edge-coupons-api" content="https://api.example.com">.
// Read when first needed, so the modules also load outside a page (the Node tests of order.js).
let apiBase;
export const api = (path) => `${(apiBase ??= globalThis.document?.querySelector('meta[name="edge-coupons-api"]')?.content ?? '')}${path}`;

// The service worker (sw.js) marks responses it answered from its cache, with the time they were
// stored, so the page can say that it is working offline and from when its price list is.
export const CACHE_HEADER = 'x-edge-coupons-cached-at';

let wasmReady;
/** Instantiates the Wasm module once per page (wasm-bindgen --target web). */
export const initEngine = () => (wasmReady ??= init());

/** An error with a stable `.code`, like the engine's, for failures outside the engine. */
export const codedError = (code, message, details = {}) => Object.assign(new Error(message), { code, ...details });

async function fetchOk(url, what) {
  let res;
  try {
    res = await fetch(url);
  } catch {
    throw codedError('NETWORK', `could not download the ${what}: no connection, and nothing saved from an earlier visit`);
  }
  if (!res.ok) {
    let detail = `HTTP ${res.status}`;
    try {
      const body = await res.json();
      if (body?.error?.message) detail = `${body.error.code}: ${body.error.message}`;
    } catch {
      // not JSON: the status says enough
    }
    throw codedError('HTTP_ERROR', `could not download the ${what} (${detail})`, { status: res.status });
  }
  return res;
}

/**
 * Fetches GET /manifest and GET /jwks and verifies the manifest with the engine. Throws the engine's
 * error (MANIFEST_EXPIRED, MANIFEST_SIGNATURE_INVALID, ...) when it does not verify.
 * Returns { engine, jws, cachedAt } where cachedAt is set when the manifest came from the offline cache.
 * `manifestUrl` and `keysUrl` default to the API's routes; <coupon-box> passes its own (a shop may
 * pin the key set at its own origin).
 */
export async function loadVerifiedManifest({ manifestUrl = api('/manifest'), keysUrl = api('/jwks') } = {}) {
  await initEngine();
  const [manifestRes, keysRes] = await Promise.all([fetchOk(manifestUrl, 'price list'), fetchOk(keysUrl, 'shop keys')]);
  const jws = (await manifestRes.text()).trim();
  const jwks = await keysRes.json();
  const engine = CouponEngine.fromSignedManifest(jws, jwks, { now: new Date().toISOString() });
  return { engine, jws, cachedAt: manifestRes.headers.get(CACHE_HEADER) };
}

/**
 * The payload of a manifest that the engine has already verified (call after loadVerifiedManifest):
 * the stats page lists the coupons from it. Never used on an unverified manifest.
 */
export function verifiedPayload(jws) {
  const b64 = jws.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}
