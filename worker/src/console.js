// The console's admin routes (docs/worker.md, "The console"): the coupon list and one coupon's
// settings in words (the engine's, engine.describe), published versions and restore, signing a
// payload with the Worker's key, checking one without publishing, generating bulk codes, and the
// stats of every coupon together. Each reads stored state, asks the engine, and shapes the answer.
import { CompactSign } from 'jose';
import { ApiError, json, parseJson, readJsonObject, readText, rfc3339 } from './http.js';
import { current, publish, storedVersion } from './manifest-store.js';
import { readIndex } from './manifest-index.js';
import { call, checkCharacter, hiddenCodeHash, payloadOf, verify } from './engine.js';
import { readOverrides } from './overrides.js';
import { counterOf, kvMode } from './counters.js';
import { ALPHABET, bulkKey, bulkSources, codeHash, macCharacters } from './codes.js';
import { fillTimeZones } from './zones.js';
import { statsQuery } from './stats.js';
import { addMoney } from './money.js';
import { batchOf, couponIn } from './admin.js';

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024; // the engine's default max_manifest_bytes
const MAX_GENERATE = 500; // per call: each code is one KV write, and an invocation may make 1,000
const MAX_GENERATE_TOTAL = 10_000;

/**
 * The status in force: the edge override if any; else the signed one, with `scheduled` for an
 * active coupon whose activation time is ahead and `ended` once its fixed expiry has passed.
 */
export function effectiveStatus(coupon, override, nowMs) {
  if (override) return override.status;
  const s = coupon.status;
  if (['active', 'scheduled', 'paused'].includes(s) && coupon.expiry?.type === 'fixed' && Date.parse(coupon.expiry.at) <= nowMs) return 'ended';
  if (s === 'active' && coupon.activation?.type === 'time' && Date.parse(coupon.activation.at) > nowMs) return 'scheduled';
  return s;
}

const typeOf = (c) => (c.distribution?.length || c.activation?.type === 'event' ? 'event' : c.codes.type);

/** GET /admin/coupons: every coupon of the current manifest with its status, reward and counters. */
export async function listCoupons(request, env) {
  const loaded = await current(env);
  const [overrides, index] = await Promise.all([readOverrides(env), readIndex(env)]);
  const entry = index.find((e) => e.version === loaded.version);
  const words = new Map(call(() => loaded.engine.describe()).map((d) => [d.coupon_id, d]));
  const now = Date.now();
  const { payload } = loaded;
  const coupons = await Promise.all(payload.coupons.map(async (c) => {
    const counter = counterOf(env, c.id);
    // A coupon with several sources (`multi`) shows its static code and its first bulk prefix.
    const sources = c.codes.type === 'multi' ? c.codes.sources : [c.codes];
    const code = sources.find((s) => s.type === 'static' && s.code)?.code;
    const bulk = bulkSources(c)[0];
    const [counts, pool] = await Promise.all([counter.counters(), bulk ? counter.pool() : null]);
    const codes = { ...(code ? { code } : {}), ...(bulk ? { prefix: bulk.prefix, pool_available: pool.available } : {}) };
    return {
      id: c.id,
      name: c.name,
      status: effectiveStatus(c, overrides[c.id], now),
      manifest_status: c.status,
      override: overrides[c.id]?.status ?? null,
      type: typeOf(c),
      visibility: c.visibility ?? 'visible',
      reward: { type: c.reward.type, summary: words.get(c.id)?.summary ?? '' },
      limit_per_code: c.limits?.per_user ?? null,
      limits: c.limits ?? {},
      redemptions: counts.redemptions,
      discount_given: counts.discount_given,
      codes,
      updated_at: entry?.updated?.[c.id] ?? entry?.published_at ?? null,
    };
  }));
  const manifest = {
    id: payload.id, version: loaded.version, currency: payload.currency, issued_at: payload.issued_at, expires_at: payload.expires_at,
    ...(payload.settings?.time_zone ? { time_zone: payload.settings.time_zone } : {}),
  };
  return json({ manifest, coupons });
}

/** GET /admin/coupons/{id}: the coupon's JSON, status, settings in words, counters and pool. */
export async function getCoupon(request, env, { coupon_id }) {
  const loaded = await current(env);
  const coupon = couponIn(loaded, coupon_id);
  const overrides = await readOverrides(env);
  const counter = counterOf(env, coupon_id);
  const bulk = bulkSources(coupon).length > 0;
  const [counts, pool, uploads] = await Promise.all([counter.counters(), bulk ? counter.pool() : null, bulk ? counter.uploads({ limit: 20 }) : []]);
  const [words] = call(() => loaded.engine.describe(coupon_id));
  return json({
    coupon,
    status: effectiveStatus(coupon, overrides[coupon_id], Date.now()),
    override: overrides[coupon_id]?.status ?? null,
    description: words.lines,
    counters: { redemptions: counts.redemptions, discount_given: counts.discount_given, periods: counts.periods },
    pool: pool ? { available: pool.available, given: pool.given } : null,
    uploads,
  });
}

/** GET /admin/manifests: the published versions, newest first (manifest:index). */
export async function listVersions(request, env) {
  const [index, currentVersion] = await Promise.all([readIndex(env), env.MANIFESTS.get('manifest:current')]);
  const versions = index.map((e) => ({
    version: e.version, manifest_id: e.manifest_id, issued_at: e.issued_at, expires_at: e.expires_at, published_at: e.published_at,
    current: e.version === currentVersion, coupons: e.coupons, changes: e.changes,
  }));
  if (currentVersion && !versions.some((v) => v.current)) {
    // Published before the index existed: listed with what its payload says.
    const { payload } = await storedVersion(env, currentVersion);
    versions.unshift({
      version: currentVersion, manifest_id: payload.id, issued_at: payload.issued_at, expires_at: payload.expires_at, published_at: null,
      current: true, coupons: payload.coupons.length, changes: { added: payload.coupons.map((c) => c.id), removed: [], changed: [] },
    });
  }
  return json({ versions });
}

/** GET /admin/manifests/{version}: the verified payload, to edit a copy (expired ones too). */
export async function getVersion(request, env, { version }) {
  const { payload } = await storedVersion(env, version);
  return json({ version, payload });
}

/** POST /admin/manifests/{version}/restore: that version becomes current (201, as PUT /admin/manifest). */
export async function restoreVersion(request, env, { version }) {
  const { jws, payload } = await storedVersion(env, version);
  if (Date.parse(payload.expires_at) <= Date.now()) {
    throw new ApiError(409, 'MANIFEST_EXPIRED', `version ${version} expired at ${payload.expires_at}: edit a copy with new dates and publish it`, { expires_at: payload.expires_at });
  }
  const loaded = await publish(env, jws);
  return json({ manifest_id: loaded.engine.manifestId, version: loaded.version, etag: loaded.etag }, 201);
}

/** The unsigned payload of a request (a JSON object), with its offset tables filled; the bytes to sign. */
async function payloadToSign(request) {
  const text = await readText(request, { limit: MAX_MANIFEST_BYTES, types: ['application/json'] });
  const payload = parseJson(text);
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new ApiError(422, 'MANIFEST_INVALID', 'manifest: the payload must be a JSON object', { path: '' });
  }
  // As couponctl sign: the bytes as sent, unless something was added (then compact JSON).
  const added = fillTimeZones(payload).length + hashHiddenCodes(payload);
  return { payload, bytes: new TextEncoder().encode(added ? JSON.stringify(payload) : text) };
}

/**
 * As couponctl sign: a hidden static coupon's code given in clear is published only as its
 * `code_hash` (the engine's hash), so no browser can read it from the manifest. Returns how many.
 */
function hashHiddenCodes(payload) {
  let hashed = 0;
  (Array.isArray(payload.coupons) ? payload.coupons : []).forEach((c, i) => {
    if (c?.visibility !== 'hidden') return;
    // The codes, or each source of a `multi`.
    const multi = c.codes?.type === 'multi' && Array.isArray(c.codes.sources);
    (multi ? c.codes.sources : [c.codes]).forEach((codes, k) => {
      if (codes?.type !== 'static' || typeof codes.code !== 'string' || 'code_hash' in codes) return;
      try {
        codes.code_hash = hiddenCodeHash(typeof payload.id === 'string' ? payload.id : '', codes.code);
      } catch (err) {
        throw new ApiError(422, err.code ?? 'CODE_INVALID', err.message, { path: `coupons[${i}].codes${multi ? `.sources[${k}]` : ''}.code` });
      }
      delete codes.code;
      hashed += 1;
    });
  });
  return hashed;
}

const compactSign = (bytes, key, kid) => new CompactSign(bytes).setProtectedHeader({ alg: 'EdDSA', kid }).sign(key);

let signingKeys = { text: null, key: null };

/** MANIFEST_SIGNING_KEY as a key (a private Ed25519 JWK with kid), or null when not set. */
async function signingKey(env) {
  const text = env.MANIFEST_SIGNING_KEY;
  if (!text) return null;
  if (signingKeys.text !== text) {
    let jwk;
    let key;
    try {
      jwk = typeof text === 'string' ? JSON.parse(text) : text;
      if (jwk?.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.d || typeof jwk.kid !== 'string') throw new Error('not a private Ed25519 JWK with kid');
      key = await crypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d }, { name: 'Ed25519' }, false, ['sign']);
    } catch (err) {
      console.error('MANIFEST_SIGNING_KEY is not usable', err);
      throw new ApiError(500, 'SIGNING_KEY_INVALID', 'the Worker\'s MANIFEST_SIGNING_KEY is not a private Ed25519 JWK with kid');
    }
    signingKeys = { text, key: { key, kid: jwk.kid } };
  }
  return signingKeys.key;
}

/**
 * POST /admin/manifest/sign: fills the payload's offset tables, signs it with MANIFEST_SIGNING_KEY
 * and publishes it (201, as PUT /admin/manifest; the engine's error with its path, 422, for a
 * payload it refuses). Without the key: 503 SIGNING_DISABLED (sign with couponctl instead).
 */
export async function signManifest(request, env) {
  const { bytes } = await payloadToSign(request);
  const key = await signingKey(env);
  if (!key) {
    throw new ApiError(503, 'SIGNING_DISABLED', 'the Worker has no MANIFEST_SIGNING_KEY: sign the payload with couponctl sign and upload the JWS (PUT /admin/manifest)');
  }
  const loaded = await publish(env, await compactSign(bytes, key.key, key.kid));
  return json({ manifest_id: loaded.engine.manifestId, version: loaded.version, etag: loaded.etag }, 201);
}

let ephemeral = null; // one throw-away key pair per isolate, for checks only

async function checkKey() {
  ephemeral ??= (async () => {
    const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
    const { kty, crv, x } = await crypto.subtle.exportKey('jwk', pair.publicKey);
    return { key: pair.privateKey, kid: 'console-check', jwks: { keys: [{ kty, crv, x, kid: 'console-check', alg: 'EdDSA', use: 'sig' }] } };
  })();
  return ephemeral;
}

/**
 * POST /admin/manifest/check: 200 { ok, coupons } when the engine would load the payload (signed
 * with a throw-away key, loaded as of now or its issued_at if later, as couponctl does), else its
 * error (422, with `path`). Nothing is published.
 */
export async function checkManifest(request, env) {
  const { payload, bytes } = await payloadToSign(request);
  const key = await checkKey();
  const jws = await compactSign(bytes, key.key, key.kid);
  const issued = Date.parse(payload.issued_at);
  const now = rfc3339(Math.max(Date.now(), Number.isNaN(issued) ? 0 : issued));
  verify(jws, key.jwks, now, 422);
  return json({ ok: true, coupons: payloadOf(jws).coupons.length });
}

/** Random characters of ALPHABET from the platform's CSPRNG (uniform: 256 is a multiple of 32). */
function randomChars(n) {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  return Array.from(bytes, (b) => ALPHABET[b % ALPHABET.length]).join('');
}

/**
 * POST /admin/coupons/{id}/codes/generate { count, pool? }: new bulk codes in the coupon's format,
 * exactly as `couponctl codes generate` makes them (random, MAC under CODE_MAC_KEY, the core's check
 * character), stored as the upload stores them (and added to the code pool with `pool: true`).
 * Answers them as CSV, once: they are not kept in clear anywhere.
 */
export async function generateCodes(request, env, { coupon_id }) {
  const loaded = await current(env);
  const coupon = couponIn(loaded, coupon_id);
  // A coupon with several bulk sources gets codes of its first (docs/worker.md, the console).
  const [source] = bulkSources(coupon);
  if (!source) throw new ApiError(422, 'NOT_BULK_COUPON', `coupon ${coupon_id} does not take bulk codes`);
  const { value } = await readJsonObject(request, 1024);
  const { count, pool = false } = value;
  const batch = batchOf(value.batch);
  if (!Number.isInteger(count) || count < 1 || count > MAX_GENERATE_TOTAL) {
    throw new ApiError(400, 'INVALID_REQUEST', `count must be a whole number from 1 to ${MAX_GENERATE_TOTAL}`, { path: 'count' });
  }
  if (count > MAX_GENERATE) {
    throw new ApiError(413, 'TOO_MANY_ROWS', `at most ${MAX_GENERATE} codes per call (each is one KV write); ask again for more`, { limit: MAX_GENERATE });
  }
  if (typeof pool !== 'boolean') throw new ApiError(400, 'INVALID_REQUEST', 'pool must be true or false', { path: 'pool' });
  if (pool && kvMode(env)) throw new ApiError(400, 'POOL_UNSUPPORTED', 'code pools need Durable Objects; this Worker runs with COUNTER_MODE=kv');
  if (!env.CODE_MAC_KEY) {
    throw new ApiError(503, 'GENERATION_DISABLED', 'the Worker has no CODE_MAC_KEY: generate codes with couponctl codes generate and upload them');
  }
  const macChars = Number(env.CODE_MAC_CHARS ?? 4);
  const { prefix, length } = source;
  const randomLength = length - prefix.length - macChars - 1;
  if (!(randomLength >= 6)) {
    throw new ApiError(422, 'CODE_FORMAT_UNSUPPORTED',
      `coupon ${coupon_id}'s codes (${length} characters, prefix ${prefix}) leave ${randomLength} random characters beside ${macChars} MAC and 1 check character; at least 6 are needed`);
  }
  const codes = new Set();
  while (codes.size < count) {
    const random = randomChars(randomLength);
    const mac = await macCharacters(env.CODE_MAC_KEY, prefix, random, macChars);
    codes.add(`${prefix}${random}${mac}${checkCharacter(random + mac)}`);
  }
  const list = [...codes];
  await Promise.all(list.map((code) => env.CODES.put(bulkKey(coupon_id, codeHash(coupon_id, code)), coupon_id)));
  const pooled = pool ? (await counterOf(env, coupon_id).addToPool({ codes: list })).added : 0;
  await counterOf(env, coupon_id).recordUpload({ batch, kind: 'generated', at: rfc3339(Date.now()), imported: list.length, refused: 0, pooled });
  return new Response(`code\n${list.join('\n')}\n`, {
    status: 201,
    headers: { 'content-type': 'text/csv; charset=utf-8', 'cache-control': 'no-store', 'content-disposition': `attachment; filename="${coupon_id}-codes.csv"` },
  });
}

const FIELDS = ['redemptions', 'redeeming_users', 'rollbacks', 'discount_given', 'gross_merchandise_value', 'codes_distributed', 'cashback_points'];
const MONEY = new Set(['discount_given', 'gross_merchandise_value']);
const zero = () => Object.fromEntries(FIELDS.map((f) => [f, MONEY.has(f) ? '0' : 0]));
const add = (into, row) => {
  for (const f of FIELDS) into[f] = MONEY.has(f) ? addMoney(into[f], row[f] ?? '0') : into[f] + (row[f] ?? 0);
  return into;
};

/**
 * GET /admin/stats: every coupon of the current manifest, each as GET /stats/{id} answers it,
 * summed per period and in all. Sums: a user who redeemed two coupons (or in two periods) counts
 * in each `redeeming_users`.
 */
export async function statsOverview(request, env) {
  const query = statsQuery(new URL(request.url));
  const loaded = await current(env);
  const perCoupon = await Promise.all(loaded.payload.coupons.map(async (c) => ({ coupon: c, periods: await counterOf(env, c.id).stats(query) })));
  const periods = new Map();
  const totals = zero();
  const coupons = perCoupon.map(({ coupon, periods: rows }) => {
    const own = zero();
    for (const row of rows) {
      add(own, row);
      if (!periods.has(row.period)) periods.set(row.period, { period: row.period, ...zero() });
      add(periods.get(row.period), row);
    }
    add(totals, own);
    return { coupon_id: coupon.id, name: coupon.name, ...own };
  });
  return json({ ...query, totals, periods: [...periods.values()].sort((a, b) => (a.period < b.period ? -1 : 1)), coupons });
}
