// The console's only door to the Worker. The admin credential is never held here: after sign-in
// the browser keeps an HttpOnly, SameSite=Strict session cookie that page scripts cannot read, and
// every call adds the `X-Requested-With: console` header the Worker requires of cookie-authenticated
// requests (no cross-site form can send a custom header). A 401 means the session is over: the
// console shows the sign-in form again.

/** An error answer of the Worker: `.code`, `.status` and the details (`path`, `refused`, ...). */
export class ApiError extends Error {
  constructor(status, body, fallback) {
    const e = body?.error ?? {};
    super(e.message ?? fallback ?? `HTTP ${status}`);
    this.status = status;
    this.code = e.code ?? `HTTP_${status}`;
    Object.assign(this, e, { message: this.message });
  }
}

let onSignedOut = () => {};
/** What to do when the Worker says the session is over (set once by app.js). */
export const whenSignedOut = (fn) => {
  onSignedOut = fn;
};

/**
 * One request. `json`: a body sent as JSON; `body` + `type`: raw text (CSV, a JWS); `as`: 'json'
 * (default), 'text' or 'response'. Throws ApiError on any non-2xx answer.
 */
export async function call(method, path, { json, body, type, as = 'json', signal } = {}) {
  const headers = { 'x-requested-with': 'console' };
  if (json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (type) headers['content-type'] = type;
  let res;
  try {
    res = await fetch(path, { method, headers, body, credentials: 'same-origin', cache: 'no-store', signal });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw Object.assign(new Error('The shop could not be reached. Check the connection and try again.'), { code: 'NETWORK' });
  }
  if (!res.ok) {
    const text = await res.text();
    let parsed = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON (a proxy's page): the status says enough
    }
    const err = new ApiError(res.status, parsed, text && !parsed ? `HTTP ${res.status}: ${text.slice(0, 200)}` : undefined);
    if (res.status === 401 && path !== '/console/session') onSignedOut(err);
    throw err;
  }
  if (as === 'response') return res;
  if (res.status === 204) return null;
  return as === 'text' ? res.text() : res.json();
}

export const get = (path, opts) => call('GET', path, opts);
export const q = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== '')).toString();
export const enc = encodeURIComponent;

// Session (the token goes to the Worker once, in a POST body; it never lands in the URL or storage).
export const signIn = (token) => call('POST', '/console/session', { json: { token } });
export const session = () => call('GET', '/console/session');
export const signOut = () => call('DELETE', '/console/session');

// Coupons and their operations.
export const listCoupons = () => get('/admin/coupons');
export const getCoupon = (id) => get(`/admin/coupons/${enc(id)}`);
export const setStatus = (id, status) => call('PUT', `/admin/coupons/${enc(id)}/status`, { json: { status } });
export const getPool = (id) => get(`/admin/coupons/${enc(id)}/pool`);
// `batch`: the calls of one generation or one file sent in chunks share it, so its history lists them once.
export const generateCodes = (id, count, batch) => call('POST', `/admin/coupons/${enc(id)}/codes/generate`, { json: { count, batch }, as: 'text' });
export const uploadCodes = (id, csv, pool, batch) => call('POST', `/admin/coupons/${enc(id)}/codes?${q({ batch, ...(pool ? { pool: 'true' } : {}) })}`, { body: csv, type: 'text/csv' });
export const getUploads = (id) => get(`/admin/coupons/${enc(id)}/uploads`);

// Manifests: versions, checking, signing and publishing.
export const listVersions = () => get('/admin/manifests');
export const getVersion = (version) => get(`/admin/manifests/${enc(version)}`);
export const restoreVersion = (version) => call('POST', `/admin/manifests/${enc(version)}/restore`);
export const checkPayload = (payload) => call('POST', '/admin/manifest/check', { json: payload });
export const signAndPublish = (payload) => call('POST', '/admin/manifest/sign', { json: payload });
export const publishJws = (jws) => call('PUT', '/admin/manifest', { body: jws.trim(), type: 'application/jose' });

// Statistics.
export const overviewStats = (params) => get(`/admin/stats?${q(params)}`);
export const couponStats = (id, params) => get(`/stats/${enc(id)}?${q(params)}`);
