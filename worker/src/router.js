// A small method + path router. Patterns are literal segments or `:name` parameters.
import { ApiError } from './http.js';

export class Router {
  #routes = [];

  add(method, pattern, handler) {
    this.#routes.push({ method, parts: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  /** The handler and path parameters for a request; 404 or 405 (with Allow) when none fits. */
  match(method, pathname) {
    const segments = pathname.split('/').filter(Boolean);
    const allowed = new Set();
    for (const route of this.#routes) {
      const params = matchParts(route.parts, segments);
      if (!params) continue;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { handler: route.handler, params };
      allowed.add(route.method);
    }
    if (allowed.size) {
      const err = new ApiError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${pathname}`);
      err.headers = { allow: [...allowed].join(', ') };
      throw err;
    }
    throw new ApiError(404, 'NOT_FOUND', `no route ${method} ${pathname}`);
  }
}

function matchParts(parts, segments) {
  if (parts.length !== segments.length) return null;
  const params = {};
  for (let i = 0; i < parts.length; i++) {
    if (parts[i].startsWith(':')) {
      try {
        params[parts[i].slice(1)] = decodeURIComponent(segments[i]);
      } catch {
        return null;
      }
    } else if (parts[i] !== segments[i]) return null;
  }
  return params;
}
