// A short per-isolate cache in front of KV reads on the pricing path (overrides, assignments, usage
// copies). KV itself caches reads at each location for 60 s; this saves the round trip for hot keys
// within a second or so. Writes made by this isolate update it at once (`remember`).
const entries = new Map();
const MAX_ENTRIES = 10_000;

export async function cachedGet(kv, key, type, ttlMs) {
  const hit = entries.get(key);
  if (hit && hit.until > Date.now()) return hit.value;
  const value = await kv.get(key, type);
  remember(key, value, ttlMs);
  return value;
}

export function remember(key, value, ttlMs) {
  if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value);
  entries.set(key, { value, until: Date.now() + ttlMs });
}

export function forget(key) {
  entries.delete(key);
}
