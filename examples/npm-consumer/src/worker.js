// A shop's own Worker pricing carts with the package: the .wasm is imported as a compiled module
// (wrangler does that for a .wasm import) and instantiated synchronously once per isolate.
import wasmModule from 'edge-coupons/edge_coupons_bg.wasm';
import { CouponEngine, initSync } from 'edge-coupons';

initSync({ module: wasmModule });
let engine;

export default {
  async fetch(request, env) {
    if (request.method !== 'POST') return new Response('POST { cart, codes } to price a cart', { status: 405 });
    try {
      engine ??= CouponEngine.fromSignedManifest(env.MANIFEST_JWS, JSON.parse(env.MANIFEST_JWKS), { now: env.NOW });
      const { cart, codes } = await request.json();
      return Response.json(engine.evaluate({ cart, codes, now: env.NOW }));
    } catch (err) {
      // The engine throws Errors with a stable `.code` (bad input, bad signature).
      return Response.json({ error: { code: err.code ?? 'INTERNAL', message: err.message } }, { status: err.code ? 400 : 500 });
    }
  },
};
