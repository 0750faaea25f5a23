// Bulk codes are verified here, at the Worker: the engine only checks their format (prefix, length,
// check character). A code is genuine when it was uploaded (KV `bulkcode:<coupon>:<hash>`, the
// exact key `couponctl codes import` writes) or, for generated codes (`"check": true`), when its MAC
// characters match under CODE_MAC_KEY (docs/cli.md, codes generate).
import { createHash } from 'node:crypto';

export const ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ'; // couponctl's default, the only one with "check"
const macKeys = new Map();

/** base64url(SHA-512/256("coupon-code:v1:" + coupon id + ":" + normalised code)): couponctl's hash. */
export const codeHash = (couponId, normalized) =>
  createHash('sha512-256').update(`coupon-code:v1:${couponId}:${normalized}`).digest('base64url');

export const bulkKey = (couponId, hash) => `bulkcode:${couponId}:${hash}`;
export const usedKey = (couponId, hash) => `bulkused:${couponId}:${hash}`;

/** A coupon's bulk sources: its `codes`, or the bulk ones of its `multi` sources. */
export const bulkSources = (coupon) => (coupon.codes.type === 'multi' ? coupon.codes.sources : [coupon.codes]).filter((s) => s.type === 'bulk');

/** The bulk source a normalised code belongs to (its prefix and length), if any. */
export const bulkSourceOf = (coupon, code) => bulkSources(coupon).find((s) => code.startsWith(s.prefix) && code.length === s.length);

function macKey(secret) {
  let key = macKeys.get(secret);
  if (!key) {
    const bin = atob(secret.trim().replace(/-/g, '+').replace(/_/g, '/'));
    const raw = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    key = crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    macKeys.set(secret, key);
  }
  return key;
}

/**
 * The MAC characters couponctl writes (docs/cli.md): HMAC-SHA256(secret, "coupon-code-mac:v1:" +
 * prefix + random), its first 8 bytes big-endian, `n` characters base 32, least significant first.
 */
export async function macCharacters(secret, prefix, random, n) {
  const data = new TextEncoder().encode(`coupon-code-mac:v1:${prefix}${random}`);
  const tag = new Uint8Array(await crypto.subtle.sign('HMAC', await macKey(secret), data));
  let v = 0n;
  for (const b of tag.slice(0, 8)) v = (v << 8n) | BigInt(b);
  let out = '';
  for (let i = 0; i < n; i++) {
    out += ALPHABET[Number(v % 32n)];
    v /= 32n;
  }
  return out;
}

async function macOk(env, coupon, code) {
  const macChars = Number(env.CODE_MAC_CHARS ?? 4);
  const source = bulkSourceOf(coupon, code);
  if (!env.CODE_MAC_KEY || !source?.check || !(macChars > 0)) return false;
  const { prefix } = source;
  const body = code.slice(prefix.length, -1); // random + MAC; the last character is the check
  if (body.length <= macChars) return false;
  const random = body.slice(0, body.length - macChars);
  let expected;
  try {
    expected = await macCharacters(env.CODE_MAC_KEY, prefix, random, macChars);
  } catch (err) {
    console.error('CODE_MAC_KEY is not base64url text', err);
    return false; // fail closed: no valid key, no MAC-verified codes
  }
  return expected === body.slice(-macChars);
}

/** Was this normalised code issued for the coupon? Returns its hash when it was, else null. */
export async function issuedCodeHash(env, coupon, code) {
  const hash = codeHash(coupon.id, code);
  if ((await env.CODES.get(bulkKey(coupon.id, hash))) === coupon.id) return hash;
  return (await macOk(env, coupon, code)) ? hash : null;
}

/** Soft check for previews: the coupon's Durable Object is the authority on used codes. */
export async function seenUsed(env, couponId, hash) {
  return (await env.STATE.get(usedKey(couponId, hash))) !== null;
}
