// The live preview: a payload that is not signed yet, priced in this page by the same Wasm engine the
// checkout and the Worker run. The engine only loads signed manifests, so the page signs the payload
// with an ephemeral Ed25519 key (WebCrypto, made once per page, never stored or sent) and hands the
// engine that key's public half. Nothing signed here is ever published.
import { initEngine } from '../engine.js';
import { CouponEngine, checkCharacter } from '../pkg/edge_coupons.js';
import { withOffsetTables } from './tz.js';

const KID = 'console-preview';
let keyPair;
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const utf8 = (s) => new TextEncoder().encode(s);

async function ephemeralKey() {
  if (!keyPair) {
    keyPair = (async () => {
      const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
      const pub = await crypto.subtle.exportKey('jwk', pair.publicKey);
      return { privateKey: pair.privateKey, jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: pub.x, kid: KID }] } };
    })();
  }
  return keyPair;
}

/** The payload as a JWS (EdDSA, the ephemeral key) and the key set that verifies it. */
export async function signEphemeral(payload) {
  const { privateKey, jwks } = await ephemeralKey();
  const input = `${b64url(utf8(JSON.stringify({ alg: 'EdDSA', kid: KID })))}.${b64url(utf8(JSON.stringify(payload)))}`;
  const sig = await crypto.subtle.sign({ name: 'Ed25519' }, privateKey, utf8(input));
  return { jws: `${input}.${b64url(sig)}`, jwks };
}

/**
 * Loads `payload` (its time_zones table written here from the browser's Intl) into the engine.
 * Throws the engine's Error (`.code`, `.path`) when the engine refuses it: those are the form's
 * field errors, the same the Worker would answer.
 */
export async function engineFor(payload, now) {
  await initEngine();
  const { jws, jwks } = await signEphemeral(withOffsetTables(previewable(payload)));
  return CouponEngine.fromSignedManifest(jws, jwks, { now });
}

/**
 * The payload as the preview prices it: a hidden coupon whose code is still in clear (the Worker
 * publishes it as its hash) is priced as a visible one. Hidden only keeps a coupon out of trays,
 * which the preview does not show; the code and its discount are the same.
 */
function previewable(payload) {
  const clear = (c) => c.visibility === 'hidden' && c.codes?.type === 'static' && typeof c.codes.code === 'string';
  if (!payload.coupons?.some(clear)) return payload;
  return { ...payload, coupons: payload.coupons.map((c) => (clear(c) ? { ...c, visibility: 'visible' } : c)) };
}

/**
 * A code of a bulk coupon's format for the preview: the prefix, then 2s, then (for generated codes)
 * the check character the engine computes, so the engine in the page takes it as well formed.
 */
export async function sampleBulkCode({ prefix, length, check }) {
  await initEngine();
  const body = '2'.repeat(Math.max(0, length - prefix.length - (check ? 1 : 0)));
  return check ? `${prefix}${body}${checkCharacter(body) ?? ''}` : `${prefix}${body}`;
}
