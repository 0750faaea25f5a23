// A shop's checkout script: load the engine once, verify the signed manifest, price the cart in
// the browser. Nothing here is specific to this example but where the manifest comes from.
import init, { CouponEngine } from 'edge-coupons';
import wasmUrl from 'edge-coupons/edge_coupons_bg.wasm';

/** Prices `cart` with `codes` against a signed manifest; resolves to the engine's Evaluation. */
export async function priceCart({ jws, jwks, cart, codes, now }) {
  // Relative to this script, wherever the page that loads it lives (esbuild's file loader gives a
  // path relative to the bundle; a bundler that gives an absolute URL is unaffected).
  await init({ module_or_path: new URL(wasmUrl, import.meta.url) });
  const engine = CouponEngine.fromSignedManifest(jws, jwks, { now });
  return engine.evaluate({ cart, codes, now });
}

// The page (index.html) gives its input in a JSON script tag and shows the total.
const input = document.getElementById('input');
if (input) {
  priceCart(JSON.parse(input.textContent))
    .then((evaluation) => {
      document.getElementById('total').textContent = evaluation.totals.total;
      document.getElementById('applied').textContent = evaluation.applied.map((a) => a.coupon_id).join(', ');
    })
    .catch((err) => {
      document.getElementById('total').textContent = `error ${err.code}: ${err.message}`;
    });
}
