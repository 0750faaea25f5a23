// The Wasm core, instantiated once per isolate, and verified engines cached by manifest version.
import wasmModule from '../../pkg/edge_coupons_bg.wasm';
import { CouponEngine, initSync, checkCharacter, hiddenCodeHash } from '../../pkg/edge_coupons.js';
import { ApiError, fromEngineError, sha256Hex } from './http.js';

initSync({ module: wasmModule });

// The core's check character of a generated bulk code (src/codes.rs), for code generation, and the
// hash a hidden static code is published as.
export { checkCharacter, hiddenCodeHash };

/** The Worker's manifest keys (a var or secret holding a JWKS as JSON). A bad one is our fault: 500. */
export function manifestKeys(env) {
  let jwks;
  try {
    jwks = typeof env.MANIFEST_JWKS === 'string' ? JSON.parse(env.MANIFEST_JWKS) : env.MANIFEST_JWKS;
  } catch {
    jwks = undefined;
  }
  if (!jwks || typeof jwks !== 'object') {
    throw new ApiError(500, 'KEYSET_INVALID', 'the Worker has no MANIFEST_JWKS (a JWKS as JSON) configured');
  }
  return jwks;
}

/** A version names one exact manifest: its id plus a hash of the signed bytes. */
export async function manifestVersion(engine, jws) {
  return `${engine.manifestId}@${(await sha256Hex(jws)).slice(0, 32)}`;
}

/**
 * Verifies a signed manifest; throws the engine's error (with the status for a submitted or a
 * served manifest). A manifest that fails here is never cached, served or used.
 */
export function verify(jws, jwks, now, manifestStatus) {
  try {
    return CouponEngine.fromSignedManifest(jws, jwks, { now });
  } catch (err) {
    throw fromEngineError(err, manifestStatus);
  }
}

/** Decodes the payload of a JWS the engine has already verified (coupon metadata for routing). */
export function payloadOf(jws) {
  const part = jws.split('.')[1];
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
}

/** Runs an engine call, turning its thrown errors into HTTP errors (request errors: 4xx). */
export function call(fn) {
  try {
    return fn();
  } catch (err) {
    throw fromEngineError(err, 503);
  }
}
