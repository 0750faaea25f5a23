// The coupon list: two tabs (Available: active, scheduled, paused, draft; Archived: ended and
// archived), filters by type, reward and status, and a search by name, id or code.
import { REWARD_LABEL, STATUS_LABEL, TYPE_LABEL, ago, count, dateTime, h, isolate, money, statusBadge, put } from './format.js';

const AVAILABLE = ['active', 'scheduled', 'paused', 'draft'];
const ARCHIVED = ['ended', 'archived'];
// Kept while the page is open, so coming back from a coupon shows the list as it was left.
const state = { tab: 'available', type: '', reward: '', status: '', search: '' };

/** Codes compared as the engine compares them: no spaces, dashes or underscores, upper case. */
const norm = (s) => s.normalize('NFKC').replace(/[\s\-_\u2010-\u2015\u00ad\u200b-\u200d]/g, '').toUpperCase();

function matches(c, s) {
  if (!s) return true;
  const needle = s.trim().toLowerCase();
  if (c.name.toLowerCase().includes(needle) || c.id.toLowerCase().includes(needle)) return true;
  const code = norm(s);
  if (!code) return false;
  if (c.codes?.code && norm(c.codes.code).includes(code)) return true;
  // A unique code of a bulk coupon: it starts with the coupon's prefix.
  if (c.codes?.prefix && (code.startsWith(norm(c.codes.prefix)) || norm(c.codes.prefix).includes(code))) return true;
  return false;
}

const limitText = (n) => (n ? `${count(n)} per customer` : 'No limit');

export async function render(root, { store }) {
  const { manifest, coupons } = await store.coupons(true);

  const table = h('div', { id: 'coupon-table' });
  const summary = h('p', { class: 'muted small', role: 'status', 'aria-live': 'polite', id: 'list-summary' });

  const tabs = ['available', 'archived'].map((id) =>
    h('button', { type: 'button', role: 'tab', id: `tab-${id}`, 'aria-controls': 'coupon-table', 'data-tab': id }, id === 'available' ? 'Available' : 'Archived'),
  );
  const tablist = h('div', { role: 'tablist', 'aria-label': 'Coupons', class: 'tabs' }, tabs);
  tablist.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const next = state.tab === 'available' ? 'archived' : 'available';
    state.tab = next;
    draw();
    tabs.find((t) => t.dataset.tab === next).focus();
  });
  for (const t of tabs) t.addEventListener('click', () => ((state.tab = t.dataset.tab), draw()));

  const select = (id, label, options, key) => {
    const el = h('select', { id, name: key }, h('option', { value: '' }, 'All'), options.map(([v, l]) => h('option', { value: v }, l)));
    el.value = state[key];
    el.addEventListener('change', () => ((state[key] = el.value), draw()));
    return h('div', { class: 'field' }, h('label', { for: id }, label), el);
  };
  const search = h('input', { id: 'search', type: 'search', value: state.search, autocomplete: 'off', spellcheck: 'false', placeholder: 'Name, id or code' });
  search.addEventListener('input', () => ((state.search = search.value), draw()));
  const statusSelect = h('div', { id: 'status-filter-slot' });

  function draw() {
    for (const t of tabs) {
      t.setAttribute('aria-selected', String(t.dataset.tab === state.tab));
      t.tabIndex = t.dataset.tab === state.tab ? 0 : -1;
    }
    const allowed = state.tab === 'available' ? AVAILABLE : ARCHIVED;
    if (state.status && !allowed.includes(state.status)) state.status = '';
    // The status filter offers the tab's statuses; rebuilt only when the tab changes, so it keeps focus.
    if (statusSelect.dataset.tab !== state.tab) {
      statusSelect.dataset.tab = state.tab;
      statusSelect.replaceChildren(select('filter-status', 'Status', allowed.map((s) => [s, STATUS_LABEL[s]]), 'status'));
    }
    const inTab = coupons.filter((c) => allowed.includes(c.status));
    const rows = inTab.filter(
      (c) => (!state.type || c.type === state.type) && (!state.reward || c.reward?.type === state.reward) && (!state.status || c.status === state.status) && matches(c, state.search),
    );
    summary.textContent = rows.length === inTab.length ? `${count(rows.length)} coupons` : `${count(rows.length)} of ${count(inTab.length)} coupons match`;
    if (!rows.length) {
      table.replaceChildren(h('p', { class: 'empty' }, inTab.length ? 'No coupon matches these filters.' : state.tab === 'archived' ? 'No archived coupons yet.' : 'No coupons yet. Create the first one.'));
      return;
    }
    const th = (text, cls) => h('th', { scope: 'col', class: cls }, text);
    table.replaceChildren(
      h(
        'table',
        { class: 'list' },
        h('caption', { class: 'visually-hidden' }, `${state.tab === 'available' ? 'Available' : 'Archived'} coupons`),
        h('thead', {}, h('tr', {}, th('Name'), th('Status'), th('Type'), th('Reward'), th('Limit'), th('Redemptions', 'num'), th('Updated'))),
        h(
          'tbody',
          {},
          rows.map((c) =>
            h(
              'tr',
              { 'data-coupon': c.id },
              h('td', { 'data-label': 'Name', class: 'name' }, h('a', { href: `#coupon/${encodeURIComponent(c.id)}` }, isolate(c.name)), h('span', { class: 'id' }, c.id)),
              h('td', { 'data-label': 'Status' }, statusBadge(h, c.status)),
              h('td', { 'data-label': 'Type' }, TYPE_LABEL[c.type] ?? c.type),
              h('td', { 'data-label': 'Reward' }, c.reward?.summary ?? REWARD_LABEL[c.reward?.type] ?? ''),
              h('td', { 'data-label': 'Limit' }, limitText(c.limit_per_code)),
              h('td', { 'data-label': 'Redemptions', class: 'num' }, count(c.redemptions ?? 0), c.discount_given && !/^0+(\.0+)?$/.test(c.discount_given) ? h('span', { class: 'sub' }, `${money(c.discount_given, manifest.currency)} off`) : null),
              h('td', { 'data-label': 'Updated' }, h('time', { datetime: c.updated_at, title: dateTime(c.updated_at) }, ago(c.updated_at))),
            ),
          ),
        ),
      ),
    );
  }

  put(root, 
    h('div', { class: 'title-row' }, h('h1', { tabindex: '-1' }, 'Coupons'), h('a', { class: 'button primary', href: '#new' }, 'New coupon')),
    h('p', { class: 'muted small' }, `Price list in force since ${dateTime(manifest.issued_at)}, valid until ${dateTime(manifest.expires_at)}.`),
    tablist,
    h(
      'div',
      { class: 'filters', role: 'search' },
      h('div', { class: 'field grow' }, h('label', { for: 'search' }, 'Search by name, id or code'), search),
      select('filter-type', 'Type', Object.entries(TYPE_LABEL), 'type'),
      select('filter-reward', 'Reward', Object.entries(REWARD_LABEL), 'reward'),
      statusSelect,
    ),
    summary,
    table,
  );
  draw();
}
