// The console: sign-in, a hash router over the views, and the coupon list shared by the views.
// Views: #coupons (list), #coupon/<id> (one coupon), #new and #edit/<id> (the form), #stats and
// #stats/<id>, #versions. Each view module exports render(root, ctx).
import * as api from './api.js';
import { h } from './format.js';

const $ = (id) => document.getElementById(id);

const store = {
  data: null, // the last GET /admin/coupons answer: { manifest, coupons }
  async coupons(force = false) {
    if (force || !this.data) this.data = await api.listCoupons();
    return this.data;
  },
  invalidate() {
    this.data = null;
  },
};

const VIEWS = {
  coupons: () => import('./list.js'),
  coupon: () => import('./detail.js'),
  new: () => import('./form.js'),
  edit: () => import('./form.js'),
  stats: () => import('./stats.js'),
  versions: () => import('./versions.js'),
};

/** A short message for screen readers and eyes, after an operation succeeded. */
export function notify(text) {
  const box = $('notice');
  box.textContent = '';
  box.append(h('p', {}, text));
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => (box.textContent = ''), 8000);
}

function showProblem(err) {
  $('problem').hidden = !err;
  $('problem').textContent = err ? `${err.message}${err.code && !/^HTTP_|NETWORK/.test(err.code) ? ` (${err.code})` : ''}` : '';
}

let renderToken = 0;
async function route() {
  const token = ++renderToken;
  const [name = 'coupons', ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  const view = VIEWS[name] ? name : 'coupons';
  const param = rest.length ? decodeURIComponent(rest.join('/')) : undefined;
  for (const a of document.querySelectorAll('[data-nav]')) {
    const current = a.dataset.nav === view || (a.dataset.nav === 'coupons' && view === 'coupon');
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  showProblem(null);
  const root = $('view');
  root.setAttribute('aria-busy', 'true');
  try {
    const mod = await VIEWS[view]();
    const fresh = h('div', { class: 'view', 'data-view': view });
    await mod.render(fresh, { store, param, view, navigate, notify, showProblem, isCurrent: () => token === renderToken });
    if (token !== renderToken) return; // another navigation started meanwhile
    root.replaceChildren(fresh);
    const title = fresh.querySelector('h1');
    document.title = `${title ? `${title.textContent} · ` : ''}Coupon console`;
    // A new view: move focus to its heading, so keyboard and screen-reader users start there.
    if (route.moved) (title ?? root).focus({ preventScroll: false });
    route.moved = true;
  } catch (err) {
    if (token !== renderToken || err.status === 401) return;
    root.replaceChildren(h('div', { class: 'view' }, h('h1', { tabindex: '-1' }, 'Something went wrong')));
    showProblem(err);
  } finally {
    if (token === renderToken) {
      root.removeAttribute('aria-busy');
      document.body.dataset.view = view;
      document.body.dataset.rendered = String(token);
    }
  }
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function showSignIn(message) {
  store.invalidate();
  $('view').hidden = true;
  $('nav').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = message ?? '';
  document.body.dataset.view = 'signin';
  document.title = 'Sign in · Coupon console';
  $('signin-token').focus();
}

function showConsole() {
  $('signin').hidden = true;
  $('nav').hidden = false;
  $('view').hidden = false;
  route();
}

async function main() {
  // Headings get focus on navigation; they need to be focusable without joining the tab order.
  api.whenSignedOut(() => showSignIn('Your session has ended. Sign in again.'));
  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('signin-token');
    if (!input.value.trim()) {
      $('signin-error').textContent = 'Enter the admin token.';
      input.setAttribute('aria-invalid', 'true');
      return;
    }
    const button = e.submitter ?? e.target.querySelector('button');
    button.disabled = true;
    try {
      await api.signIn(input.value.trim());
      input.value = '';
      input.removeAttribute('aria-invalid');
      showConsole();
    } catch (err) {
      $('signin-error').textContent = err.status === 401 ? 'That token is not right.' : err.message;
      input.setAttribute('aria-invalid', 'true');
      input.select();
    } finally {
      button.disabled = false;
    }
  });
  $('sign-out').addEventListener('click', async () => {
    try {
      await api.signOut();
    } finally {
      showSignIn('You are signed out.');
    }
  });
  window.addEventListener('hashchange', () => {
    if (!$('view').hidden) route();
  });
  try {
    await api.session();
    showConsole();
  } catch (err) {
    if (err.status === 401) showSignIn();
    else {
      showSignIn();
      showProblem(err);
    }
  }
}

main();
