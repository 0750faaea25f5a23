// The checkout's service worker: after the first visit the page, the engine package and the last
// signed manifest (with its key set) are kept here, so the preview works with the network off.
//
// Network first, cache as fallback, for every GET it handles: online, the shopper always gets the
// current page and manifest (a stale price list is worse than a slow one); offline, the last copy.
// Orders (POST) never go through the cache: offline they fail, and the page says so.
const CACHE = 'edge-coupons-checkout-v4';
const CACHED_AT = 'x-edge-coupons-cached-at'; // read by engine.js to say "offline, saved at ..."

const SHELL = [
  '/',
  '/app.css',
  '/checkout.js',
  '/engine.js',
  '/format.js',
  '/messages.js',
  '/order.js',
  '/session.js',
  '/shop.json',
  '/pkg/edge_coupons.js',
  '/pkg/edge_coupons_handoff.js',
  '/pkg/edge_coupons_bg.wasm',
  '/manifest',
  '/jwks',
];
const HANDLED = new Set(SHELL);

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await Promise.all(SHELL.map(async (path) => store(cache, path, await fetch(path, { cache: 'no-cache' }))));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
      // Take over the page that registered us, so it is covered if the network drops right away.
      await self.clients.claim();
    })(),
  );
});

/** Keeps a copy of a good response with the time it was stored. */
async function store(cache, path, response) {
  if (!response.ok) return;
  const headers = new Headers(response.headers);
  headers.set(CACHED_AT, new Date().toISOString());
  const body = await response.clone().arrayBuffer();
  await cache.put(path, new Response(body, { status: response.status, statusText: response.statusText, headers }));
}

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  // "/index.html" and "/?..." are the page too.
  const path = url.pathname === '/index.html' ? '/' : url.pathname;
  if (!HANDLED.has(path)) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      try {
        // Conditional requests (the manifest's ETag) stay cheap; the HTTP cache revalidates.
        const response = await fetch(event.request, { cache: 'no-cache' });
        if (response.ok) {
          // A fresh network copy goes to the page unmarked; the cache keeps its own marked copy.
          event.waitUntil(store(cache, path, response.clone()));
        }
        return response;
      } catch (err) {
        const cached = await cache.match(path);
        if (cached) return cached;
        throw err;
      }
    })(),
  );
});
