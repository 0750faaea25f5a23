// HTTP helpers: JSON responses, the `{error: {code, message, ...details}}` shape, and reading a
// request body with the checks every route shares (size, content type, JSON).

/** An error the Worker answers with itself: a stable code, a status, and optional details. */
export class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

// Statuses for the engine's error codes (docs/errors.md). Manifest errors depend on whose manifest
// it is, so callers pass `manifestStatus` (422 for a submitted manifest, 503 for the served one).
const ENGINE_STATUS = {
  CURRENCY_MISMATCH: 422,
  AMOUNT_OVERFLOW: 422,
  LIMIT_EXCEEDED: 413,
};

export const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

export function json(body, status = 200, headers = {}) {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } });
}

/** A response body already serialised (idempotent replays must be byte-identical). */
export function rawJson(text, status, headers = {}) {
  return new Response(text, { status, headers: { ...JSON_HEADERS, ...headers } });
}

export function errorBody(code, message, details = {}) {
  return { error: { ...details, code, message } };
}

/**
 * Any thrown value as an HTTP error. Engine errors carry `.code` (and `.path`, `.limit`, ...);
 * anything without a code is a bug: logged, answered 500 without internals.
 */
export function errorResponse(err, { manifestStatus = 503 } = {}) {
  if (err instanceof ApiError) {
    return json(errorBody(err.code, err.message, err.details), err.status, err.headers ?? {});
  }
  if (typeof err?.code !== 'string') {
    console.error(err);
    return json(errorBody('INTERNAL', 'internal error'), 500);
  }
  const { code, message, ...details } = err;
  return json(errorBody(code, message, details), engineStatus(code, manifestStatus));
}

export function engineStatus(code, manifestStatus = 503) {
  if (code.startsWith('MANIFEST_')) return manifestStatus;
  if (code === 'KEYSET_INVALID') return manifestStatus === 422 ? 422 : 500;
  return ENGINE_STATUS[code] ?? 400;
}

/** The engine's error as an ApiError (keeps `.path` and the other details). */
export function fromEngineError(err, manifestStatus) {
  if (err instanceof ApiError || typeof err?.code !== 'string') return err;
  const { code, message, ...details } = err;
  return new ApiError(engineStatus(code, manifestStatus), code, message, details);
}

/**
 * The body as text, refused before parsing when it is too large (413 BODY_TOO_LARGE) or not the
 * expected media type (415 UNSUPPORTED_MEDIA_TYPE). Keeps at most `limit` bytes even when the
 * client lies about Content-Length or sends the body chunked without one.
 */
export async function readText(request, { limit, types }) {
  const type = (request.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (!types.includes(type)) {
    throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `expected Content-Type ${types.join(' or ')}, got ${type || 'none'}`);
  }
  const declared = Number(request.headers.get('content-length') ?? 0);
  if (declared > limit) throw tooLarge(limit);
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await drain(reader, size);
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ApiError(400, type === 'text/csv' ? 'INVALID_CSV' : 'INVALID_JSON', 'the request body is not UTF-8');
  }
}

// Cloudflare refuses request bodies over 100 MB (Free and Pro plans) before they reach a Worker.
const MAX_DRAIN_BYTES = 100 * 1024 * 1024;

/**
 * Reads the rest of a body that is already too large, discarding it, so the 413 goes out after the
 * request is consumed. Answering while a chunked body (no Content-Length) is half read, with the
 * reader cancelled or not, breaks the request stream under the answer: `wrangler dev`'s proxy then
 * answers a plain-text 503 of its own ("Your worker restarted mid-request") or the client's
 * connection is reset. Past MAX_DRAIN_BYTES the reader is cancelled after all.
 */
async function drain(reader, size) {
  for (let seen = size; seen <= MAX_DRAIN_BYTES;) {
    const { done, value } = await reader.read();
    if (done) return;
    seen += value.byteLength;
  }
  await reader.cancel();
}

const tooLarge = (limit) =>
  new ApiError(413, 'BODY_TOO_LARGE', `the request body is over ${limit} bytes`, { limit });

/** A JSON object body (a JSON array or scalar is refused: every route takes an object). */
export async function readJsonObject(request, limit) {
  const text = await readText(request, { limit, types: ['application/json'] });
  const value = parseJson(text);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ApiError(400, 'INVALID_REQUEST', 'the request body must be a JSON object', { path: '' });
  }
  return { text, value };
}

// Numbers keep their source text where a float would change them (`1.0000000000000001`, 30
// digits of money sent as a number): JSON.rawJSON of the digits, which JSON.stringify writes back
// as they came, so the engine (evaluateJson) reads what the client sent and refuses it as natively.
const exactNumbers = typeof JSON.rawJSON === 'function'
  ? (_key, value, context) => (typeof value === 'number' && context?.source !== undefined && String(value) !== context.source
    ? JSON.rawJSON(context.source) : value)
  : undefined;

export function parseJson(text) {
  try {
    return JSON.parse(text, exactNumbers);
  } catch (e) {
    // The reviver recurses: JSON nested thousands of levels deep runs out of stack. It is JSON, just
    // deeper than anything the engine reads (64 levels), so it is refused as such, not as "not JSON".
    if (e instanceof RangeError) {
      throw new ApiError(400, 'INVALID_REQUEST', 'the request body is nested too deeply (the engine reads 64 levels)', { path: '' });
    }
    throw new ApiError(400, 'INVALID_JSON', `the request body is not JSON: ${e.message}`);
  }
}

/** Hex SHA-256 of a string (request fingerprints, ETags). */
export async function sha256Hex(text) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Constant-time string comparison (admin token): compares HMACs so length leaks nothing either. */
export async function timingSafeEqual(a, b) {
  const key = await crypto.subtle.importKey('raw', crypto.getRandomValues(new Uint8Array(32)), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const enc = new TextEncoder();
  const [x, y] = await Promise.all([crypto.subtle.sign('HMAC', key, enc.encode(a)), crypto.subtle.sign('HMAC', key, enc.encode(b))]);
  return crypto.subtle.timingSafeEqual(x, y);
}

/**
 * Passes when the request's `Authorization: Bearer <token>` is one of `tokens` (each compared in
 * constant time); 401 UNAUTHORIZED, with `message` saying which token the route wants, otherwise.
 */
export async function requireBearer(request, tokens, message) {
  const header = request.headers.get('authorization') ?? '';
  const token = header.startsWith('Bearer ') ? header.slice(7) : '';
  const matches = await Promise.all(tokens.map((t) => timingSafeEqual(token, t)));
  if (!matches.includes(true)) {
    const err = new ApiError(401, 'UNAUTHORIZED', message);
    err.headers = { 'www-authenticate': 'Bearer' };
    throw err;
  }
}

/** RFC 3339 in UTC with seconds, the way the engine prints times. */
export const rfc3339 = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
