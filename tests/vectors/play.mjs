// How a runner plays one signed vector (tests/vectors/README.md), with no imports, so the same code
// runs in Node, inside workerd (tests/worker/vectors-worker.js) and in a Chromium page
// (tests/browser/vectors.test.mjs). Node signs the vector; `job` is { jws, jwks, op, input,
// input_text?, now?, limits? }. Returns { result } or { error: { code, path, message, is_error } }; the checks are Node's
// (`checkVector` in tests/node/helpers.mjs). A job with `input_text` evaluates that JSON text as it is
// (`evaluateJson`): the requests a JS value cannot carry, such as a quantity a float rounds to 1.
// `jws` and `input_text` may be texts in pieces, joined here, so a 10 MB JWS travels as a few bytes.

/** A vector's text: a string, or a list of strings and `{ repeat, times }` pieces (tests/vectors/README.md). */
export const vectorText = (t) =>
  typeof t === 'string' ? t : t.map((p) => (typeof p === 'string' ? p : p.repeat.repeat(p.times))).join('');

const withNow = (ctx, now) => (ctx?.now === undefined && now !== undefined ? { ...ctx, now } : ctx);

function run(CouponEngine, { jws, jwks, op, input = {}, input_text: text, now, limits }) {
  const opts = {};
  if (now !== undefined) opts.now = now;
  if (limits !== undefined) opts.limits = limits;
  const engine = CouponEngine.fromSignedManifest(vectorText(jws), jwks, opts);
  try {
    switch (op) {
      case 'load':
        return { manifestId: engine.manifestId, manifest_id: engine.manifestId };
      case 'evaluate':
        return text === undefined ? engine.evaluate(withNow(input, now)) : engine.evaluateJson(vectorText(text));
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
    return {
      error: { code: err?.code ?? null, path: err?.path ?? null, message: err?.message ?? String(err), is_error: err instanceof Error },
    };
  }
}
