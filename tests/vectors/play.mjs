// How a runner plays one signed vector (tests/vectors/README.md), with no imports, so the same code
// runs in Node, inside workerd (tests/worker/vectors-worker.js) and in a Chromium page
// (tests/browser/vectors.test.mjs). Node signs the vector; `job` is { jws, jwks, op, input, now?,
// limits? }. Returns { result } or { error: { code, message, is_error } }; the checks are Node's
// (`checkVector` in tests/node/helpers.mjs).
const withNow = (ctx, now) => (ctx?.now === undefined && now !== undefined ? { ...ctx, now } : ctx);

function run(CouponEngine, { jws, jwks, op, input = {}, now, limits }) {
  const opts = {};
  if (now !== undefined) opts.now = now;
  if (limits !== undefined) opts.limits = limits;
  const engine = CouponEngine.fromSignedManifest(jws, jwks, opts);
  try {
    switch (op) {
      case 'load':
        return { manifestId: engine.manifestId, manifest_id: engine.manifestId };
      case 'evaluate':
        return engine.evaluate(withNow(input, now));
      case 'tray':
        return engine.tray(withNow(input, now));
      case 'checkCode':
        return engine.checkCode(input.code, withNow(input.user ?? {}, now));
      case 'distribute':
        return engine.distribute(withNow(input.user ?? {}, now), input.event, input.usage);
      default:
        throw Object.assign(new Error(`unknown op ${JSON.stringify(op)}`), { code: 'UNKNOWN_OP' });
    }
  } finally {
    engine.free();
  }
}

export function playVector(CouponEngine, job) {
  try {
    return { result: run(CouponEngine, job) };
  } catch (err) {
    return { error: { code: err?.code ?? null, message: err?.message ?? String(err), is_error: err instanceof Error } };
  }
}
