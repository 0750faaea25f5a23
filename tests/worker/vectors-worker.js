// A test-only Worker (tests/worker/vectors.wrangler.toml): plays shared vectors (tests/vectors) with
// the engine package the Worker runs (pkg/), inside workerd, so tests/worker/vectors.test.mjs can
// check that the Worker's runtime gives the results native Rust and Node give (CONTRACT §6).
//
// POST / with a JSON array of cases { jws, jwks, op, input, input_text?, now?, limits? } (the vector
// signed by the test); answers an array in the same order: { result } or
// { error: { code, path, message, is_error } }.
// Each case runs as tests/vectors/README.md says: load with { now, limits }, then the op, with `now`
// added to an input that has none.
import wasmModule from '../../pkg/edge_coupons_bg.wasm';
import { CouponEngine, initSync } from '../../pkg/edge_coupons.js';
import { playVector } from '../vectors/play.mjs';

initSync({ module: wasmModule });

export default {
  async fetch(request) {
    if (request.method !== 'POST') return new Response('POST a JSON array of cases', { status: 405 });
    const cases = await request.json();
    if (!Array.isArray(cases)) return new Response('expected a JSON array of cases', { status: 400 });
    return Response.json(cases.map((c) => playVector(CouponEngine, c)));
  },
};
