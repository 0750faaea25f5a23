// One coupon: its settings in words (the engine's own, as `couponctl inspect` prints them), the
// operations its status allows (in force at the edge at once), its numbers, and its codes.
import * as api from './api.js';
import { renderCodes } from './codes.js';
import { STATUS_LABEL, TYPE_LABEL, count, dateTime, h, isolate, money, statusBadge, put } from './format.js';

/** What a marketer may do in each effective status, and the override each sets at the edge. */
export const OPERATIONS = {
  draft: ['archive'],
  scheduled: ['end', 'archive'],
  active: ['pause', 'end', 'archive'],
  paused: ['activate', 'end', 'archive'],
  ended: ['archive'],
  archived: [],
};
const OP = {
  pause: { status: 'paused', label: 'Pause', done: 'paused: the checkout refuses it from now on', hint: 'Stops it at once; activate it again any time.' },
  activate: { status: 'active', label: 'Activate', done: 'active again', hint: 'Back on at the checkout at once.' },
  end: { status: 'ended', label: 'End', done: 'ended', confirm: 'End this coupon for good? Shoppers can no longer use it.', hint: 'Over for good.' },
  archive: { status: 'archived', label: 'Archive', done: 'archived', confirm: 'Archive this coupon? It moves to the Archived tab and can no longer be used.', hint: 'Kept for the record only.' },
};

export async function render(root, { store, param: id, notify, showProblem, navigate }) {
  const [detail, list] = await Promise.all([api.getCoupon(id), store.coupons()]);
  const { manifest } = list;
  const row = list.coupons.find((c) => c.id === id);
  const { coupon, status } = detail;

  const actions = h('div', { class: 'actions', role: 'group', 'aria-label': 'Operations' });
  const confirmBox = h('div', { class: 'confirm', hidden: true });
  function drawActions() {
    actions.replaceChildren(
      ...(OPERATIONS[status] ?? []).map((op) =>
        h('button', { type: 'button', 'data-op': op, class: op === 'pause' || op === 'activate' ? 'secondary' : 'danger', onclick: () => run(op) }, OP[op].label),
      ),
      h('a', { class: 'button secondary', href: `#edit/${encodeURIComponent(id)}` }, 'Edit'),
      h('a', { class: 'button secondary', href: `#stats/${encodeURIComponent(id)}` }, 'Stats'),
    );
  }
  async function run(op, confirmed = false) {
    if (OP[op].confirm && !confirmed) {
      confirmBox.hidden = false;
      confirmBox.replaceChildren(
        h('p', {}, OP[op].confirm),
        h('button', { type: 'button', class: 'danger', onclick: () => run(op, true) }, `${OP[op].label} coupon`),
        h('button', { type: 'button', class: 'secondary', onclick: () => ((confirmBox.hidden = true), actions.querySelector('button')?.focus()) }, 'Cancel'),
      );
      confirmBox.querySelector('button').focus();
      return;
    }
    for (const b of root.querySelectorAll('.actions button, .confirm button')) b.disabled = true;
    try {
      await api.setStatus(id, OP[op].status);
      store.invalidate();
      notify(`${isolate(coupon.name)} is ${OP[op].done}.`);
      navigate(`#coupon/${encodeURIComponent(id)}`);
    } catch (err) {
      showProblem(err);
      for (const b of root.querySelectorAll('.actions button, .confirm button')) b.disabled = false;
    }
  }
  drawActions();

  const fig = (label, value, key) => h('div', { class: 'figure', 'data-figure': key }, h('dt', {}, label), h('dd', {}, value));
  const overrideNote =
    detail.override && detail.override !== coupon.status
      ? h('p', { class: 'muted small' }, `Set to ${STATUS_LABEL[detail.override]?.toLowerCase() ?? detail.override} here at the edge; the published version says ${STATUS_LABEL[coupon.status]?.toLowerCase() ?? coupon.status}.`)
      : null;

  put(root, 
    h('p', { class: 'crumbs' }, h('a', { href: '#coupons' }, 'Coupons'), ' / '),
    h('div', { class: 'title-row' }, h('h1', { tabindex: '-1' }, isolate(coupon.name)), statusBadge(h, status)),
    h('p', { class: 'muted' }, `${TYPE_LABEL[row?.type] ?? ''}${row?.codes?.code ? ` · code ${row.codes.code}` : ''}${row?.codes?.prefix ? ` · codes starting ${row.codes.prefix}` : ''} · id ${coupon.id}`),
    overrideNote,
    actions,
    confirmBox,
    OPERATIONS[status]?.length ? h('p', { class: 'muted small' }, (OPERATIONS[status] ?? []).map((op) => `${OP[op].label}: ${OP[op].hint}`).join(' ')) : null,
    h(
      'dl',
      { class: 'figures' },
      fig('Redemptions', count(detail.counters?.redemptions ?? 0), 'redemptions'),
      fig('Discount given', money(detail.counters?.discount_given ?? '0', manifest.currency), 'discount'),
      detail.pool ? fig('Codes waiting in the pool', count(detail.pool.available), 'pool-available') : null,
      detail.pool ? fig('Codes given out', count(detail.pool.given), 'pool-given') : null,
      row?.updated_at ? fig('Last changed', dateTime(row.updated_at), 'updated') : null,
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'settings-title' },
      h('h2', { id: 'settings-title' }, 'Settings'),
      h('dl', { class: 'settings' }, (detail.description ?? []).flatMap((d) => [h('dt', {}, d.label), h('dd', {}, d.text)])),
    ),
  );
  if (coupon.codes?.type === 'bulk') {
    const codes = h('section', { class: 'panel', 'aria-labelledby': 'codes-title', id: 'codes' });
    put(root, codes);
    renderCodes(codes, { coupon, pool: detail.pool, uploads: detail.uploads ?? [], notify, showProblem });
  }
}
