// The history of published versions, for the console (`manifest:index` in MANIFESTS): one entry
// per version, newest first, written at publish. Each says what changed against the version
// published before it and, per coupon, a hash of its JSON and when it last changed, so the coupon
// list can say `updated_at` without reading old manifests. A version published again (a restore)
// moves to the top with its changes worked out again. Publishing is an admin's act, rare and
// one at a time; two publishes racing may lose one entry (KV has no atomic update), never a version.
import { sha256Hex } from './http.js';

export const INDEX = 'manifest:index';
const MAX_ENTRIES = 100; // older versions drop out of the list (their JWS stays in KV)

export async function readIndex(env) {
  return (await env.MANIFESTS.get(INDEX, 'json')) ?? [];
}

/** Records `loaded` (just made current) at the top of the index. */
export async function recordPublish(env, loaded, now = new Date().toISOString()) {
  const publishedAt = now.replace(/\.\d{3}Z$/, 'Z');
  const index = (await readIndex(env)).filter((e) => e.version !== loaded.version);
  const before = index[0];
  const hashes = {};
  await Promise.all(loaded.payload.coupons.map(async (c) => {
    hashes[c.id] = (await sha256Hex(JSON.stringify(c))).slice(0, 16);
  }));
  const old = before?.hashes ?? {};
  const changes = { added: [], removed: [], changed: [] };
  const updated = {};
  for (const c of loaded.payload.coupons) {
    if (!(c.id in old)) changes.added.push(c.id);
    else if (old[c.id] !== hashes[c.id]) changes.changed.push(c.id);
    const same = old[c.id] === hashes[c.id] && before?.updated?.[c.id];
    updated[c.id] = same ? before.updated[c.id] : publishedAt;
  }
  for (const id of Object.keys(old)) if (!(id in hashes)) changes.removed.push(id);
  const { payload } = loaded;
  const entry = {
    version: loaded.version, manifest_id: payload.id, issued_at: payload.issued_at, expires_at: payload.expires_at,
    published_at: publishedAt, coupons: payload.coupons.length, changes, hashes, updated,
  };
  await env.MANIFESTS.put(INDEX, JSON.stringify([entry, ...index].slice(0, MAX_ENTRIES)));
  return entry;
}
