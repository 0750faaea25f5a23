// Who the shopper is, as the edge sees it: a short-lived token (a JWT the shop's backend signs after
// its own login) from `${backend}/session`, sent as `Authorization: Bearer` on every Worker call that
// concerns the user. The Worker takes the user from the token alone (docs/worker.md); without one
// the shopper is anonymous there: coupons for everyone still price, the others say SIGN_IN_REQUIRED.
//
// The identity (id and display name, never the token) is kept in localStorage, so a page opened
// offline, or while the shop's backend is down, still previews as the shopper it last knew, with
// the profile saved for them; the Worker is asked without a token meanwhile.

const IDENTITY_KEY = 'edge-coupons:identity';
const SESSION_TIMEOUT_MS = 5000;
const RENEW_BEFORE_MS = 60e3; // a new token a minute before the current one expires
const RETRY_AFTER_MS = 30e3; // the backend did not answer: ask again this much later

/**
 * The session for `backend` (shop.json's "backend": the shop's own server; none: always anonymous).
 * `onChange(session)` is called when who the page prices for changes (signed in, another user,
 * back to the saved identity or anonymous).
 */
export function createSession(backend, { storage = globalThis.localStorage, fetcher = (...a) => globalThis.fetch(...a), onChange = () => {} } = {}) {
  let token = null;
  let expiresAt = 0; // ms
  let identity = null; // { user_id, display_name }
  let source = 'anonymous'; // 'backend' | 'saved' | 'anonymous'
  let problem = null;
  let failedAt = -Infinity; // when the backend last failed to answer (ms)
  let inFlight = null;
  let timer = null;

  const saved = () => {
    try {
      const s = JSON.parse(storage?.getItem(IDENTITY_KEY) ?? 'null');
      return typeof s?.user_id === 'string' && s.user_id ? s : null;
    } catch {
      return null;
    }
  };

  const schedule = (ms) => {
    clearTimeout(timer);
    timer = setTimeout(() => session.refresh(), Math.max(ms, 1000));
    timer.unref?.(); // Node (the unit tests): a pending renewal does not keep the process alive
  };

  const set = (next, nextSource) => {
    const before = `${source}:${identity?.user_id ?? ''}`;
    identity = next;
    source = nextSource;
    if (before !== `${source}:${identity?.user_id ?? ''}`) onChange(session);
  };

  async function load() {
    if (!backend) {
      set(null, 'anonymous');
      return;
    }
    try {
      const res = await fetcher(`${backend}/session`, { cache: 'no-store', signal: AbortSignal.timeout(SESSION_TIMEOUT_MS) });
      if (!res.ok) throw new Error(`the shop answered HTTP ${res.status}`);
      const s = await res.json();
      const exp = Date.parse(s?.expires_at);
      if (typeof s?.token !== 'string' || typeof s.user_id !== 'string' || !s.user_id || !Number.isFinite(exp)) {
        throw new Error('the shop sent no usable session');
      }
      token = s.token;
      expiresAt = exp;
      problem = null;
      const id = { user_id: s.user_id, display_name: s.display_name ?? s.user_id };
      storage?.setItem(IDENTITY_KEY, JSON.stringify(id));
      set(id, 'backend');
      schedule(exp - Date.now() - RENEW_BEFORE_MS);
    } catch (err) {
      token = null;
      expiresAt = 0;
      failedAt = Date.now();
      problem = err.name === 'TimeoutError' ? 'the shop did not answer' : err.message;
      const last = saved();
      set(last, last ? 'saved' : 'anonymous');
      schedule(RETRY_AFTER_MS);
    }
  }

  const session = {
    backend: backend || null,
    /** Fetches a new token now (one request at a time); resolves when it is known. */
    refresh() {
      inFlight ??= load().finally(() => {
        inFlight = null;
      });
      return inFlight;
    },
    /**
     * A token that is still good for a little while, fetching a new one first if needed. While the
     * backend does not answer, it is asked again only every RETRY_AFTER_MS: calls meanwhile go out
     * without a token rather than each wait for it.
     */
    async ensure() {
      if (inFlight) await inFlight;
      const now = Date.now();
      if (backend && (token ? expiresAt - now < 30e3 : now - failedAt >= RETRY_AFTER_MS)) await session.refresh();
      return session.token();
    },
    /** The user the page prices for: the session's, the last one known (offline), or null (anonymous). */
    userId: () => identity?.user_id ?? null,
    displayName: () => identity?.display_name ?? null,
    /** 'backend': signed in with a token; 'saved': the last identity, no token; 'anonymous'. */
    source: () => source,
    problem: () => problem,
    token: () => (token && expiresAt > Date.now() ? token : null),
    /**
     * fetch() with the shopper's token. An answer 401 SHOPPER_TOKEN_INVALID (expired, or keys rotated)
     * fetches a new token and sends the request once more; a second refusal is the caller's answer.
     */
    async fetch(url, init = {}) {
      const send = (t) => fetcher(url, { ...init, headers: { ...init.headers, ...(t ? { authorization: `Bearer ${t}` } : {}) } });
      const sent = await session.ensure();
      const res = await send(sent);
      if (res.status !== 401 || !sent) return res;
      const code = await res.clone().json().then((b) => b?.error?.code, () => null);
      if (code !== 'SHOPPER_TOKEN_INVALID') return res;
      await session.refresh();
      return send(session.token());
    },
    /** Stops renewing (tests; a page never needs it). */
    stop: () => clearTimeout(timer),
  };
  return session;
}
