// Published versions of the price list, newest first, each with what changed against the one before
// it; any earlier version can be put back (it becomes the current one, as a new publication would).
import * as api from './api.js';
import { count, dateTime, h, put } from './format.js';

export async function render(root, { store, navigate, notify, showProblem }) {
  const [{ versions }, { coupons }] = await Promise.all([api.listVersions(), store.coupons(true)]);
  // People read coupon names, not ids: names from the current list, else from the version itself.
  const names = new Map(coupons.map((c) => [c.id, c.name]));
  const nameOf = (id) => names.get(id) ?? id;
  const n = versions.length;

  const changes = (v) => {
    const c = v.changes ?? {};
    const parts = [];
    if (c.added?.length) parts.push(h('li', {}, h('span', { class: 'tag added' }, 'Added'), ' ', c.added.map(nameOf).join(', ')));
    if (c.changed?.length) parts.push(h('li', {}, h('span', { class: 'tag changed' }, 'Changed'), ' ', c.changed.map(nameOf).join(', ')));
    if (c.removed?.length) parts.push(h('li', {}, h('span', { class: 'tag removed' }, 'Removed'), ' ', c.removed.map(nameOf).join(', ')));
    if (v === versions[n - 1]) return h('p', { class: 'muted small' }, 'The first version published here.');
    return parts.length ? h('ul', { class: 'changes' }, parts) : h('p', { class: 'muted small' }, 'No coupon changed (new dates only).');
  };

  async function restore(v, label, button) {
    button.disabled = true;
    showProblem(null);
    try {
      await api.restoreVersion(v.version);
      store.invalidate();
      notify(`${label} is back in force.`);
      navigate('#versions');
    } catch (err) {
      button.disabled = false;
      if (err.code === 'MANIFEST_EXPIRED') {
        showProblem(Object.assign(new Error(`${label} has expired and cannot be put back as it is. Open a coupon from it, edit a copy and publish.`), { code: err.code }));
      } else showProblem(err);
    }
  }

  put(root, 
    h('h1', { tabindex: '-1' }, 'Versions'),
    h('p', { class: 'muted' }, 'Every publication makes a new version of the price list. Putting an earlier one back makes it current again at once; the versions after it stay listed.'),
    n
      ? h(
          'ol',
          { class: 'versions', reversed: true },
          versions.map((v, i) => {
            const label = `Version ${n - i}`;
            const button = v.current ? null : h('button', { type: 'button', class: 'secondary', 'data-restore': String(n - i), 'aria-label': `Put back ${label}` }, 'Put back');
            button?.addEventListener('click', () => restore(v, label, button));
            return h(
              'li',
              { class: `version panel${v.current ? ' current' : ''}`, 'data-version': String(n - i), 'data-current': v.current ? 'true' : 'false' },
              h(
                'div',
                { class: 'title-row' },
                h('h2', {}, label, v.current ? h('span', { class: 'badge status-active' }, 'In force') : null),
                button,
              ),
              h('p', { class: 'muted small' }, `Published ${dateTime(v.published_at ?? v.issued_at)} · ${count(v.coupons)} coupons · valid until ${dateTime(v.expires_at)}`),
              changes(v),
            );
          }),
        )
      : h('p', {}, 'Nothing published yet.'),
  );
}
