// The published manifest: KV holds every verified version (`manifest:<version>`, written once) and
// a pointer to the current one (`manifest:current`). Each isolate keeps verified engines by version,
// so a Durable Object asked to commit against version V loads exactly V.
import { ApiError, sha256Hex } from './http.js';
import { manifestKeys, manifestVersion, payloadOf, verify } from './engine.js';
import { recordPublish } from './manifest-index.js';

const CURRENT = 'manifest:current';
const POINTER_TTL_MS = 2000; // how long an isolate trusts its copy of the pointer
const cache = new Map(); // version -> Loaded
let pointer = { version: null, at: 0 };

/** Everything routing needs about one manifest version, built once per isolate. */
async function build(jws, engine, version) {
  const payload = payloadOf(jws);
  const coupons = new Map(payload.coupons.map((c) => [c.id, c]));
  return { version, jws, engine, payload, coupons, etag: `"${(await sha256Hex(jws)).slice(0, 32)}"` };
}

/** Verifies and stores a submitted manifest, then makes it current. Refusals are 422. */
export async function publish(env, jws) {
  let engine;
  try {
    engine = verify(jws, manifestKeys(env), new Date().toISOString(), 422);
  } catch (err) {
    // Which keys this Worker trusts is its own configuration: say so where a kid is unknown.
    if (err?.code === 'MANIFEST_KEY_UNKNOWN') {
      const trusted = (manifestKeys(env).keys ?? []).map((k) => k?.kid).filter((k) => typeof k === 'string');
      err.message = `${err.message}; this Worker trusts ${trusted.length ? trusted.map((k) => `\`${k}\``).join(', ') : 'no key'} (MANIFEST_JWKS)`;
      err.details = { ...err.details, trusted_kids: trusted };
    }
    throw err;
  }
  const version = await manifestVersion(engine, jws);
  await env.MANIFESTS.put(`manifest:${version}`, jws);
  await env.MANIFESTS.put(CURRENT, version);
  const loaded = await build(jws, engine, version);
  cache.set(version, loaded);
  pointer = { version, at: Date.now() };
  try {
    await recordPublish(env, loaded);
  } catch (err) {
    // The version is published; only the console's history of it is missing (logged).
    console.error('manifest:index not updated', err);
  }
  return loaded;
}

/**
 * A stored version's JWS and payload, its signature verified at its own issued_at (so an expired
 * version can still be read, to edit a copy). 404 MANIFEST_VERSION_NOT_FOUND when it is not stored.
 */
export async function storedVersion(env, version) {
  const jws = /^[A-Za-z0-9_-]{1,128}@[0-9a-f]{32}$/.test(version) ? await env.MANIFESTS.get(`manifest:${version}`) : null;
  if (!jws) throw new ApiError(404, 'MANIFEST_VERSION_NOT_FOUND', `no published manifest version ${version}`);
  const engine = verify(jws, manifestKeys(env), payloadOf(jws).issued_at, 503);
  if ((await manifestVersion(engine, jws)) !== version) {
    throw new ApiError(503, 'MANIFEST_SIGNATURE_INVALID', `stored manifest ${version} does not match its version`);
  }
  return { jws, payload: payloadOf(jws), engine };
}

/** The current manifest, verified (503 NO_MANIFEST when none was published). */
export async function current(env) {
  if (!pointer.version || Date.now() - pointer.at > POINTER_TTL_MS) {
    const version = await env.MANIFESTS.get(CURRENT);
    pointer = { version, at: Date.now() };
  }
  if (!pointer.version) throw new ApiError(503, 'NO_MANIFEST', 'no manifest has been published yet (PUT /admin/manifest)');
  const loaded = await byVersion(env, pointer.version);
  // Verified when loaded, but it may have expired since: never serve or price with it then.
  if (Date.parse(loaded.payload.expires_at) <= Date.now()) {
    throw new ApiError(503, 'MANIFEST_EXPIRED', `the published manifest expired at ${loaded.payload.expires_at}; publish a new one`);
  }
  return loaded;
}

/** One exact version; verified again in this isolate before its first use. */
export async function byVersion(env, version) {
  const hit = cache.get(version);
  if (hit) return hit;
  const jws = await env.MANIFESTS.get(`manifest:${version}`);
  if (!jws) throw new ApiError(503, 'NO_MANIFEST', `manifest version ${version} is not in the store`);
  const engine = verify(jws, manifestKeys(env), new Date().toISOString(), 503);
  if ((await manifestVersion(engine, jws)) !== version) {
    throw new ApiError(503, 'MANIFEST_SIGNATURE_INVALID', `stored manifest ${version} does not match its version`);
  }
  const loaded = await build(jws, engine, version);
  if (cache.size > 8) cache.delete(cache.keys().next().value); // old versions: oldest out first
  cache.set(version, loaded);
  return loaded;
}
