// Create and edit a coupon: a form for the settings shops use most, errors at the field, a live
// preview of a sample cart priced in this page by the Wasm engine, and publishing (signed by the
// Worker's key, or exported for `couponctl sign` and the JWS uploaded). Settings the form does not
// show (a buy-X-get-Y reward, custom rules, stacking, a redemption window, ...) are kept as they are.
import * as api from './api.js';
import { engineFor, sampleBulkCode } from './preview.js';
import { REWARD_LABEL, count, dateTime, download, h, isolate, money, put } from './format.js';
import { COMMON_ZONES, browserZone, isZone, rfc3339ToZoned, withOffsetTables, zonedToRfc3339 } from './tz.js';

const DAYS = [['mon', 'Mon'], ['tue', 'Tue'], ['wed', 'Wed'], ['thu', 'Thu'], ['fri', 'Fri'], ['sat', 'Sat'], ['sun', 'Sun']];
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const EVENT_RE = /^[A-Za-z0-9_-]{1,64}$/;
const DAY_MS = 86400e3;
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const normCode = (s) => s.normalize('NFKC').replace(/[\s\-_\u2010-\u2015\u00ad\u200b-\u200d]/g, '').toUpperCase();
const slug = (s) => s.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 64);
const digitsOf = (currency) => new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
const clone = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

// ------------------------------------------------------------------------------------------------
// Coupon JSON <-> form values. Only what the form shows is read and written; the rest is kept.

const CAT = 'line.attributes.category';
const leafKinds = [
  ['min_subtotal', (r) => r.fact === 'cart.subtotal' && r.op === 'gte' && typeof r.value === 'string', (r) => r.value],
  ['min_quantity', (r) => r.fact === 'cart.quantity' && r.op === 'gte', (r) => String(r.value)],
  ['payment', (r) => r.fact === 'cart.attributes.payment_method' && r.op === 'eq' && typeof r.value === 'string', (r) => r.value],
  ['cart_categories', (r) => r.any_line && r.any_line.fact === CAT && ['eq', 'in'].includes(r.any_line.op), (r) => [].concat(r.any_line.value).join(', ')],
];

function splitConditions(cond) {
  const out = { min_subtotal: '', min_quantity: '', payment: '', cart_categories: '', other: [] };
  if (!cond) return out;
  const leaves = cond.all ? cond.all : [cond];
  for (const r of leaves) {
    const kind = leafKinds.find(([k, test]) => !out[k] && test(r));
    if (kind) out[kind[0]] = kind[2](r);
    else out.other.push(r);
  }
  return out;
}

const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);

function fromCoupon(c, zone) {
  const r = c.reward ?? {};
  const t = r.target ?? { type: 'order' };
  let rewardKind = r.type ?? 'percentage';
  if (r.type === 'percentage' && r.percent === '100' && t.type === 'shipping') rewardKind = 'free_shipping';
  if (r.type === 'cashback') rewardKind = r.points !== undefined ? 'cashback_points' : r.percent !== undefined ? 'cashback_percent' : 'other';
  if (!['percentage', 'fixed_amount', 'free_shipping', 'cashback_points', 'cashback_percent'].includes(rewardKind)) rewardKind = 'other';
  let target = t.type;
  if (t.type === 'products') target = t.match?.fact === CAT && ['eq', 'in'].includes(t.match.op) ? 'categories' : 'custom';
  const cond = splitConditions(c.conditions);
  return {
    name: c.name ?? '',
    id: c.id ?? '',
    description: c.description ?? '',
    status: c.status ?? 'draft',
    codes_type: c.codes?.type ?? 'static',
    code: c.codes?.code ?? '',
    code_hash: c.codes?.code_hash,
    prefix: c.codes?.prefix ?? '',
    length: c.codes?.length ? String(c.codes.length) : '',
    check: c.codes?.type === 'bulk' ? Boolean(c.codes.check) : true, // new unique-code coupons: generated here
    hidden: c.visibility === 'hidden',
    audience: c.audience?.type ?? 'all',
    segment: c.audience?.segment ?? '',
    reward: rewardKind,
    percent: r.percent ?? '',
    amount: r.amount ?? '',
    max_discount: r.max_discount ?? '',
    points: r.points !== undefined ? String(r.points) : '',
    points_per_unit: r.points_per_unit ?? '',
    max_points: r.max_points !== undefined ? String(r.max_points) : '',
    target,
    categories: target === 'categories' ? [].concat(t.match.value).join(', ') : '',
    fee: t.fee ?? '',
    select: t.select ?? '',
    max_quantity: t.max_quantity ? String(t.max_quantity) : '',
    ...cond,
    per_user: c.limits?.per_user ? String(c.limits.per_user) : '',
    global: c.limits?.global ? String(c.limits.global) : '',
    budget: c.limits?.budget ?? '',
    per_day: c.limits?.per_day ? String(c.limits.per_day) : '',
    per_user_per_day: c.limits?.per_user_per_day ? String(c.limits.per_user_per_day) : '',
    zone: c.schedule?.time_zone ?? zone,
    days: c.schedule?.days ?? [],
    hours_from: c.schedule?.hours?.[0]?.from ?? '',
    hours_to: c.schedule?.hours?.[0]?.to ?? '',
    activation: c.activation?.type ?? 'now',
    start: c.activation?.type === 'time' ? rfc3339ToZoned(c.activation.at, c.schedule?.time_zone ?? zone) : '',
    event: c.activation?.event ?? '',
    expiry: c.expiry?.type ?? 'none',
    end: c.expiry?.type === 'fixed' ? rfc3339ToZoned(c.expiry.at, c.schedule?.time_zone ?? zone) : '',
    duration: c.expiry?.type === 'relative' ? c.expiry.duration : '',
    expiry_from: c.expiry?.from ?? 'activation',
    priority: c.priority ? String(c.priority) : '',
  };
}

/** Durations typed as "7 days" / "48 hours" become ISO 8601 (P7D, PT48H). */
function durationOf(n, unit) {
  return unit === 'hours' ? `PT${n}H` : `P${n}D`;
}
function splitDuration(d) {
  const m = /^P(\d+)D$/.exec(d ?? '') ?? /^PT(\d+)H$/.exec(d ?? '');
  if (!m) return { n: '', unit: 'days', raw: d };
  return { n: m[1], unit: d.startsWith('PT') ? 'hours' : 'days' };
}

function toCoupon(v, original, manifest) {
  const c = clone(original) ?? {};
  for (const k of ['description', 'visibility', 'audience', 'activation', 'expiry', 'schedule', 'priority']) delete c[k];
  c.id = v.id.trim();
  c.name = v.name.trim();
  if (v.description.trim()) c.description = v.description.trim();
  c.status = v.status;
  if (v.codes_type === 'static') {
    const keepHash = v.code_hash && !v.code.trim();
    c.codes = keepHash ? { type: 'static', code_hash: v.code_hash } : { type: 'static', code: normCode(v.code) }; // as the engine reads it
  } else if (v.codes_type === 'bulk') {
    c.codes = { type: 'bulk', prefix: normCode(v.prefix), length: Number(v.length) };
    if (v.check) c.codes.check = true;
  } else if (v.codes_type === 'multi') c.codes = clone(original.codes); // several sources: not edited here
  else c.codes = { type: 'automatic' };
  if (v.hidden) c.visibility = 'hidden';
  if (v.audience === 'segment') c.audience = { type: 'segment', segment: v.segment };
  else if (v.audience === 'assigned') c.audience = { type: 'assigned' };

  if (v.reward !== 'other') {
    const prevTarget = original?.reward?.target;
    let target;
    // A shipping target keeps the charges it matches (`match`); not edited here.
    if (v.reward === 'free_shipping' || v.target === 'shipping') target = prevTarget?.type === 'shipping' ? clone(prevTarget) : { type: 'shipping' };
    else if (v.target === 'fee') target = { type: 'fee', fee: v.fee.trim() };
    else if (v.target === 'categories') {
      const cats = list(v.categories);
      target = { type: 'products', match: { fact: CAT, op: cats.length === 1 ? 'eq' : 'in', value: cats.length === 1 ? cats[0] : cats } };
    } else if (v.target === 'custom') target = clone(prevTarget);
    else target = { type: 'order' };
    if (target.type === 'products') {
      delete target.select;
      delete target.max_quantity;
      if (v.select) target.select = v.select;
      if (v.select && v.max_quantity) target.max_quantity = Number(v.max_quantity);
      if (prevTarget?.max_quantity_per_line) target.max_quantity_per_line = prevTarget.max_quantity_per_line; // not edited here
    }
    const r = {};
    if (v.reward === 'percentage') Object.assign(r, { type: 'percentage', percent: v.percent.trim(), target }, v.max_discount.trim() ? { max_discount: v.max_discount.trim() } : {});
    if (v.reward === 'free_shipping') Object.assign(r, { type: 'percentage', percent: '100', target: { type: 'shipping' } });
    if (v.reward === 'fixed_amount') Object.assign(r, { type: 'fixed_amount', amount: v.amount.trim(), target }, original?.reward?.allocation && target.type === 'products' ? { allocation: original.reward.allocation } : {});
    if (v.reward === 'cashback_points') Object.assign(r, { type: 'cashback', points: Number(v.points) });
    if (v.reward === 'cashback_percent') {
      Object.assign(r, { type: 'cashback', percent: v.percent.trim(), target });
      if (v.points_per_unit.trim()) r.points_per_unit = v.points_per_unit.trim();
      if (v.max_points.trim()) r.max_points = Number(v.max_points);
    }
    c.reward = r;
  }

  const leaves = [...(v.other ?? [])];
  if (v.min_subtotal.trim()) leaves.push({ fact: 'cart.subtotal', op: 'gte', value: v.min_subtotal.trim() });
  if (v.min_quantity.trim()) leaves.push({ fact: 'cart.quantity', op: 'gte', value: Number(v.min_quantity) });
  if (list(v.cart_categories).length) {
    const cats = list(v.cart_categories);
    leaves.push({ any_line: { fact: CAT, op: cats.length === 1 ? 'eq' : 'in', value: cats.length === 1 ? cats[0] : cats } });
  }
  if (v.payment.trim()) leaves.push({ fact: 'cart.attributes.payment_method', op: 'eq', value: v.payment.trim() });
  delete c.conditions;
  if (leaves.length === 1) c.conditions = leaves[0];
  else if (leaves.length > 1) c.conditions = { all: leaves };

  const limits = { ...(original?.limits ?? {}) };
  for (const k of ['per_user', 'global', 'per_day', 'per_user_per_day']) {
    delete limits[k];
    if (v[k].trim()) limits[k] = Number(v[k]);
  }
  delete limits.budget;
  if (v.budget.trim()) limits.budget = v.budget.trim();
  delete c.limits;
  if (Object.keys(limits).length) c.limits = limits;

  const zone = v.zone.trim() || 'UTC';
  if (v.days.length || v.hours_from || v.hours_to) {
    c.schedule = { time_zone: zone };
    if (v.days.length && v.days.length < 7) c.schedule.days = v.days;
    if (v.hours_from && v.hours_to) c.schedule.hours = [{ from: v.hours_from, to: v.hours_to }];
  }
  const at = (local) => (isZone(zone) ? zonedToRfc3339(local, zone) : `${local}:00Z`);
  if (v.activation === 'time' && v.start) c.activation = { type: 'time', at: at(v.start) };
  if (v.activation === 'event') {
    c.activation = { ...(original?.activation?.type === 'event' ? clone(original.activation) : {}), type: 'event', event: v.event.trim() };
  }
  if (v.expiry === 'fixed' && v.end) c.expiry = { type: 'fixed', at: at(v.end) };
  if (v.expiry === 'relative') c.expiry = { type: 'relative', duration: durationOf(v.duration_n, v.duration_unit), from: v.expiry_from };
  if (v.priority.trim()) c.priority = Number(v.priority);
  void manifest;
  return c;
}

// ------------------------------------------------------------------------------------------------
// Checks at the field, before the engine's own (which then has the last word).

function validate(v, { manifest, isNew, ids }) {
  const e = {};
  const digits = digitsOf(manifest.currency);
  const moneyRe = new RegExp(`^\\d{1,15}(\\.\\d{1,${Math.max(digits, 1)}})?$`);
  const moneyOk = (s) => (digits === 0 ? /^\d{1,15}$/.test(s) : moneyRe.test(s)) && !/^0+(\.0+)?$/.test(s);
  const moneyMsg = `Enter an amount such as ${digits ? `12.${'5'.padEnd(digits, '0')}` : '1200'} (no currency sign).`;
  const int = (s) => /^\d+$/.test(s) && Number(s) >= 1;
  if (!v.name.trim()) e.name = 'Give the coupon a name shoppers will see.';
  else if (v.name.trim().length > 200) e.name = 'At most 200 characters.';
  if (!ID_RE.test(v.id.trim())) e.id = 'Letters, digits, "-" and "_" only, up to 64.';
  else if (isNew && ids.has(v.id.trim())) e.id = 'Another coupon already has this id.';
  if (v.codes_type === 'static') {
    if (!v.code.trim() && !v.code_hash) e.code = 'Enter the code shoppers type.';
    else if (v.code.trim() && !/^[A-Z0-9]{1,64}$/.test(normCode(v.code))) e.code = 'Letters and digits only (spaces and dashes are ignored).';
    else if (v.code.trim() && ids.codes.get(normCode(v.code)) && ids.codes.get(normCode(v.code)) !== v.id.trim()) e.code = 'Another coupon already uses this code.';
  }
  if (v.codes_type === 'bulk') {
    const p = normCode(v.prefix);
    if (!/^[A-Z0-9]{1,16}$/.test(p)) e.prefix = 'Up to 16 letters or digits.';
    const n = Number(v.length);
    if (!Number.isInteger(n) || n < p.length + 6 || n > 64) e.length = `A whole number from ${p.length + 6} to 64 (the prefix and at least 6 more).`;
  }
  if (v.audience === 'segment' && !v.segment) e.segment = 'Choose a segment.';
  if (['percentage', 'cashback_percent'].includes(v.reward)) {
    const p = v.percent.trim();
    if (!/^\d{1,3}(\.\d{1,4})?$/.test(p) || Number(p) <= 0 || Number(p) > 100) e.percent = 'A percentage above 0 and at most 100, such as 15 or 12.5.';
  }
  if (v.reward === 'percentage' && v.max_discount.trim() && !moneyOk(v.max_discount.trim())) e.max_discount = moneyMsg;
  if (v.reward === 'fixed_amount' && !moneyOk(v.amount.trim())) e.amount = moneyMsg;
  if (v.reward === 'cashback_points' && !int(v.points)) e.points = 'A whole number of points, 1 or more.';
  if (v.reward === 'cashback_percent' && v.points_per_unit.trim() && !/^\d+(\.\d+)?$/.test(v.points_per_unit.trim())) e.points_per_unit = 'A number such as 1 or 100.';
  if (v.reward === 'cashback_percent' && v.max_points.trim() && !int(v.max_points)) e.max_points = 'A whole number, 1 or more.';
  const usesTarget = ['percentage', 'fixed_amount', 'cashback_percent'].includes(v.reward);
  if (usesTarget && v.target === 'categories' && !list(v.categories).length) e.categories = 'Name at least one category, such as shoes.';
  if (usesTarget && v.target === 'fee' && !/^.{1,64}$/.test(v.fee.trim())) e.fee = 'The id of the fee, such as service_fee.';
  if (usesTarget && v.select && v.max_quantity && !int(v.max_quantity)) e.max_quantity = 'A whole number, 1 or more.';
  if (v.min_subtotal.trim() && !moneyOk(v.min_subtotal.trim())) e.min_subtotal = moneyMsg;
  if (v.min_quantity.trim() && !int(v.min_quantity)) e.min_quantity = 'A whole number, 1 or more.';
  for (const k of ['per_user', 'global', 'per_day', 'per_user_per_day']) if (v[k].trim() && !int(v[k])) e[k] = 'A whole number, 1 or more, or empty for no limit.';
  if (v.budget.trim() && !moneyOk(v.budget.trim())) e.budget = moneyMsg;
  if (v.budget.trim() && v.reward.startsWith('cashback')) e.budget = 'A budget caps discounts; cap cashback with the most points per order.';
  if (!isZone(v.zone.trim() || 'UTC')) e.zone = 'An IANA time zone, such as Europe/Berlin or Asia/Kolkata.';
  if ((v.hours_from && !v.hours_to) || (!v.hours_from && v.hours_to)) e.hours_from = 'Give both times, or neither for the whole day.';
  if (v.status === 'scheduled' && v.activation !== 'time') e.activation = 'A scheduled coupon starts at a time: choose "From a date and time".';
  if (v.activation === 'time' && !v.start) e.start = 'Choose when it starts.';
  if (v.activation === 'event' && !EVENT_RE.test(v.event.trim())) e.event = 'The event name your shop sends, such as sign_up.';
  if (v.expiry === 'fixed' && !v.end) e.end = 'Choose when it ends.';
  if (v.expiry === 'fixed' && v.end && v.activation === 'time' && v.start && v.end <= v.start) e.end = 'It must end after it starts.';
  if (v.expiry === 'relative') {
    if (!int(v.duration_n)) e.duration_n = 'A whole number, 1 or more.';
    if (v.expiry_from === 'activation' && v.activation === 'now') e.expiry_from = 'Counting from activation needs a start time or event.';
    if (v.expiry_from === 'assignment' && v.audience !== 'assigned') e.expiry_from = 'Counting from assignment is for coupons given to chosen customers.';
  }
  if (v.priority.trim() && !/^-?\d{1,9}$/.test(v.priority.trim())) e.priority = 'A whole number (higher goes first).';
  return e;
}

/** The form field that an engine error path (coupons[3].reward.percent) points at. */
const PATHS = [
  ['reward.target.max_quantity', 'max_quantity'], ['reward.target.fee', 'fee'], ['reward.target.match', 'categories'], ['reward.target', 'target'],
  ['reward.max_discount', 'max_discount'], ['reward.percent', 'percent'], ['reward.amount', 'amount'], ['reward.points_per_unit', 'points_per_unit'],
  ['reward.max_points', 'max_points'], ['reward.points', 'points'], ['reward', 'reward'], ['codes.code', 'code'], ['codes.prefix', 'prefix'],
  ['codes.length', 'length'], ['codes', 'code'], ['audience', 'segment'], ['visibility', 'hidden'], ['conditions', 'min_subtotal'],
  ['limits.per_user_per_day', 'per_user_per_day'], ['limits.per_user', 'per_user'], ['limits.global', 'global'], ['limits.budget', 'budget'],
  ['limits.per_day', 'per_day'], ['limits', 'per_user'], ['schedule.time_zone', 'zone'], ['schedule.hours', 'hours_from'], ['schedule.days', 'days'],
  ['schedule', 'zone'], ['activation.at', 'start'], ['activation.event', 'event'], ['activation', 'activation'], ['expiry.at', 'end'],
  ['expiry.duration', 'duration_n'], ['expiry', 'expiry'], ['window', 'activation'], ['name', 'name'], ['id', 'id'], ['description', 'description'],
  ['status', 'status'], ['priority', 'priority'],
];
function fieldOfPath(path, index) {
  if (!path) return null;
  if (/^(time_zones|settings\.time_zone)/.test(path)) return 'zone';
  const m = /^coupons\[(\d+)\]\.?(.*)$/.exec(path);
  if (!m || Number(m[1]) !== index) return null;
  return PATHS.find(([p]) => m[2] === p || m[2].startsWith(`${p}.`) || m[2].startsWith(`${p}[`))?.[1] ?? 'name';
}

// ------------------------------------------------------------------------------------------------

export async function render(root, { store, param, view, navigate, notify }) {
  const isNew = view === 'new';
  const data = await store.coupons(true);
  const { manifest } = data;
  const [{ payload: base }, shop] = await Promise.all([
    api.getVersion(manifest.version),
    fetch('/shop.json').then((r) => (r.ok ? r.json() : null)).catch(() => null),
  ]);
  const original = isNew ? null : base.coupons.find((c) => c.id === param);
  if (!isNew && !original) throw Object.assign(new Error(`No coupon ${param} in the published version.`), { code: 'COUPON_NOT_FOUND' });
  const zone0 = original?.schedule?.time_zone ?? base.settings?.time_zone ?? browserZone();
  const values = fromCoupon(original ?? { status: 'active', codes: { type: 'static' }, reward: { type: 'percentage', target: { type: 'order' } } }, zone0);
  const dur = splitDuration(values.duration);
  values.duration_n = dur.n;
  values.duration_unit = dur.unit;
  const ids = new Set(base.coupons.map((c) => c.id));
  ids.codes = new Map(base.coupons.filter((c) => c.codes?.code).map((c) => [normCode(c.codes.code), c.id]));
  const index = isNew ? base.coupons.length : base.coupons.findIndex((c) => c.id === param);
  let idTouched = !isNew;

  // ---- fields
  const fields = {}; // name -> input element
  const errorsOf = {}; // name -> <p> for its error
  const describe = (name, hint) => {
    const err = h('p', { id: `e-${name}`, class: 'error small field-error', 'aria-live': 'polite' });
    errorsOf[name] = err;
    const hintEl = hint ? h('p', { id: `hint-${name}`, class: 'muted small hint' }, hint) : null;
    return { err, hintEl, ids: [hint ? `hint-${name}` : null, `e-${name}`].filter(Boolean).join(' ') };
  };
  const input = (name, label, attrs = {}, hint) => {
    const d = describe(name, hint);
    const el = h('input', { id: `f-${name}`, name, value: values[name] ?? '', 'aria-describedby': d.ids, ...attrs });
    fields[name] = el;
    return h('div', { class: 'field', 'data-field': name }, h('label', { for: `f-${name}` }, label), d.hintEl, el, d.err);
  };
  const select = (name, label, options, hint) => {
    const d = describe(name, hint);
    const el = h('select', { id: `f-${name}`, name, 'aria-describedby': d.ids }, options.map(([v, l]) => h('option', { value: v }, l)));
    el.value = values[name] ?? options[0][0];
    fields[name] = el;
    return h('div', { class: 'field', 'data-field': name }, h('label', { for: `f-${name}` }, label), d.hintEl, el, d.err);
  };
  const radios = (name, legend, options) => {
    const d = describe(name);
    const group = h(
      'fieldset',
      { class: 'radios', 'data-field': name, 'aria-describedby': `e-${name}` },
      h('legend', {}, legend),
      options.map(([v, l]) =>
        h('div', { class: 'check' }, h('input', { type: 'radio', id: `f-${name}-${v}`, name, value: v, checked: values[name] === v }), h('label', { for: `f-${name}-${v}` }, l)),
      ),
      d.err,
    );
    fields[name] = group;
    return group;
  };
  const checkbox = (name, label, hint) => {
    const d = describe(name, hint);
    const el = h('input', { type: 'checkbox', id: `f-${name}`, name, checked: !!values[name], 'aria-describedby': d.ids });
    fields[name] = el;
    return h('div', { class: 'field' }, h('div', { class: 'check' }, el, h('label', { for: `f-${name}` }, label)), d.hintEl, d.err);
  };
  const section = (title, ...children) => h('fieldset', { class: 'group' }, h('legend', {}, title), ...children);
  const cur = manifest.currency;
  const segments = Object.keys(base.segments ?? {});

  const daysBox = (() => {
    const d = describe('days');
    const box = h(
      'fieldset',
      { class: 'days', 'data-field': 'days', 'aria-describedby': 'e-days' },
      h('legend', {}, 'On these days (none: every day)'),
      DAYS.map(([v, l]) => h('div', { class: 'check' }, h('input', { type: 'checkbox', id: `f-day-${v}`, name: 'days', value: v, checked: values.days.includes(v) }), h('label', { for: `f-day-${v}` }, l))),
      d.err,
    );
    fields.days = box;
    return box;
  })();

  const zoneList = h('datalist', { id: 'zones' }, COMMON_ZONES.map((z) => h('option', { value: z })));
  const keptNotes = [];
  if (values.reward === 'other') keptNotes.push(`The reward (${REWARD_LABEL[original.reward.type] ?? original.reward.type}) is kept as it is: it is not edited here.`);
  if (values.target === 'custom') keptNotes.push('The items the reward applies to follow a custom rule, kept as it is.');
  if (values.other.length) keptNotes.push(`${values.other.length} other rule${values.other.length > 1 ? 's are' : ' is'} kept as ${values.other.length > 1 ? 'they are' : 'it is'} (see the coupon's settings).`);
  if (values.codes_type === 'multi') keptNotes.push('Its several code sources (a single code with unique codes) are kept as they are: they are not edited here.');
  const prev = original?.reward?.target;
  if (prev?.max_quantity_per_line) keptNotes.push(`At most ${prev.max_quantity_per_line} discounted per line: kept as it is.`);
  if (prev?.type === 'shipping' && prev.match) keptNotes.push('The shipping charges it applies to follow a rule, kept as it is.');
  for (const k of ['window', 'distribution', 'stacking']) if (original?.[k]) keptNotes.push(`Its ${k === 'window' ? 'redemption window' : k === 'distribution' ? 'events that hand it out' : 'stacking rules'} are kept as they are.`);

  const summary = h('div', { id: 'error-summary', class: 'banner banner-error', role: 'alert', tabindex: '-1', hidden: true });
  const form = h(
    'form',
    { id: 'coupon-form', class: 'coupon-form', novalidate: true },
    summary,
    section(
      'Basics',
      input('name', 'Name shoppers see', { required: true, maxlength: 200, autocomplete: 'off' }),
      input('id', 'Coupon id', { required: true, maxlength: 64, readonly: !isNew, autocomplete: 'off', spellcheck: 'false', class: 'mono' }, isNew ? 'Made from the name; it names the coupon in reports and cannot change once published.' : 'Cannot change once published.'),
      input('description', 'Description (optional)', { maxlength: 2000 }),
      select('status', 'Status when published', [['active', 'Active'], ['scheduled', 'Scheduled (starts at its start time)'], ['paused', 'Paused'], ['draft', 'Draft (not live)']]),
    ),
    section(
      'Codes and visibility',
      radios('codes_type', 'How shoppers use it', [['static', 'One code for everyone'], ['bulk', 'A unique code per customer'], ['automatic', 'Automatic: no code'],
        ...(values.codes_type === 'multi' ? [['multi', 'Several code sources (kept as they are)']] : [])]),
      h('div', { 'data-when': 'codes_type=static' }, input('code', 'Code', { autocomplete: 'off', spellcheck: 'false', autocapitalize: 'characters', class: 'mono' }, values.code_hash ? 'This hidden code is stored as its hash only; leave it empty to keep it.' : 'Spaces and dashes do not matter: "save-10" is SAVE10.')),
      h(
        'div',
        { 'data-when': 'codes_type=bulk', class: 'row-fields' },
        input('prefix', 'Prefix', { autocomplete: 'off', spellcheck: 'false', class: 'mono', maxlength: 16 }),
        input('length', 'Characters in all', { type: 'number', min: 7, max: 64, inputmode: 'numeric' }),
      ),
      h('div', { 'data-when': 'codes_type=bulk' }, checkbox('check', 'Codes are generated here (with a check character that catches typos)')),
      checkbox('hidden', 'Hidden: not listed in shoppers\' coupon lists', 'Shoppers can still use it when they know the code.'),
    ),
    section(
      'Audience',
      radios('audience', 'Who can use it', [['all', 'Everyone'], ['segment', 'A segment of customers'], ['assigned', 'Only customers it is given to']]),
      h('div', { 'data-when': 'audience=segment' }, segments.length ? select('segment', 'Segment', segments.map((s) => [s, s.replace(/[_-]/g, ' ')])) : h('p', { class: 'muted' }, 'This price list has no segments.')),
    ),
    section(
      'Reward',
      select('reward', 'Reward', [
        ['percentage', 'Percentage off'], ['fixed_amount', `Amount off (${cur})`], ['free_shipping', 'Free shipping'],
        ['cashback_points', 'Cashback: fixed points'], ['cashback_percent', 'Cashback: points for a percentage'],
        ...(values.reward === 'other' ? [['other', `${REWARD_LABEL[original.reward.type] ?? 'Other'} (kept as is)`]] : []),
      ]),
      h('div', { 'data-when': 'reward=percentage|cashback_percent', class: 'row-fields' }, input('percent', 'Percent', { inputmode: 'decimal', autocomplete: 'off' })),
      h('div', { 'data-when': 'reward=percentage' }, input('max_discount', `Most it takes off (${cur}, optional)`, { inputmode: 'decimal', autocomplete: 'off' })),
      h('div', { 'data-when': 'reward=fixed_amount' }, input('amount', `Amount off (${cur})`, { inputmode: 'decimal', autocomplete: 'off' })),
      h('div', { 'data-when': 'reward=cashback_points' }, input('points', 'Points', { type: 'number', min: 1, inputmode: 'numeric' })),
      h('div', { 'data-when': 'reward=cashback_percent', class: 'row-fields' }, input('points_per_unit', `Points per ${cur} (optional)`, { inputmode: 'decimal' }), input('max_points', 'Most points per order (optional)', { type: 'number', min: 1 })),
      h(
        'div',
        { 'data-when': 'reward=percentage|fixed_amount|cashback_percent' },
        select('target', 'On', [['order', 'The whole order'], ['categories', 'Products in some categories'], ['shipping', 'Shipping'], ['fee', 'A fee'], ...(values.target === 'custom' ? [['custom', 'Products matching a custom rule (kept)']] : [])]),
        h('div', { 'data-when': 'target=categories' }, input('categories', 'Categories', { autocomplete: 'off' }, 'Separate several with commas: shoes, boots.')),
        h('div', { 'data-when': 'target=fee' }, input('fee', 'Fee id', { autocomplete: 'off', class: 'mono' }, 'As the cart names it, such as service_fee.')),
        h(
          'div',
          { 'data-when': 'target=categories|custom', class: 'row-fields' },
          select('select', 'Which units', [['', 'Every matching unit'], ['cheapest', 'The cheapest first'], ['most_expensive', 'The most expensive first']]),
          h('div', { 'data-when': 'select=cheapest|most_expensive' }, input('max_quantity', 'At most this many units', { type: 'number', min: 1 })),
        ),
      ),
    ),
    section(
      'Conditions on the cart',
      h(
        'div',
        { class: 'row-fields' },
        input('min_subtotal', `Order at least (${cur})`, { inputmode: 'decimal', autocomplete: 'off' }),
        input('min_quantity', 'At least this many items', { type: 'number', min: 1 }),
      ),
      input('cart_categories', 'Cart has a product in these categories', { autocomplete: 'off' }, 'Separate several with commas.'),
      input('payment', 'Paid with (payment method id)', { autocomplete: 'off', list: 'payments' }),
      h('datalist', { id: 'payments' }, (shop?.payment_methods ?? []).map((m) => h('option', { value: m.id }, m.label))),
    ),
    section(
      'Limits',
      h(
        'div',
        { class: 'row-fields' },
        input('per_user', 'Uses per customer', { type: 'number', min: 1 }),
        input('global', 'Uses in all', { type: 'number', min: 1 }),
        input('budget', `Budget (${cur})`, { inputmode: 'decimal' }),
      ),
      h('div', { class: 'row-fields' }, input('per_day', 'Uses per day, all customers', { type: 'number', min: 1 }), input('per_user_per_day', 'Uses per day, each customer', { type: 'number', min: 1 })),
      h('p', { class: 'muted small' }, 'Empty means no limit.'),
    ),
    section(
      'When',
      input('zone', 'Time zone', { list: 'zones', autocomplete: 'off', spellcheck: 'false' }, 'The times below, and the days and hours, are in this zone.'),
      zoneList,
      radios('activation', 'Starts', [['now', 'As soon as it is published'], ['time', 'From a date and time'], ['event', 'When the customer does something (an event)']]),
      h('div', { 'data-when': 'activation=time' }, input('start', 'Starts at', { type: 'datetime-local' })),
      h('div', { 'data-when': 'activation=event' }, input('event', 'Event name', { autocomplete: 'off', class: 'mono' }, 'As your shop sends it, such as sign_up or app_install.')),
      radios('expiry', 'Ends', [['none', 'Never'], ['fixed', 'At a date and time'], ['relative', 'Some time after it starts or is given']]),
      h('div', { 'data-when': 'expiry=fixed' }, input('end', 'Ends at', { type: 'datetime-local' })),
      h(
        'div',
        { 'data-when': 'expiry=relative', class: 'row-fields' },
        input('duration_n', 'Lasts', { type: 'number', min: 1 }),
        select('duration_unit', 'Unit', [['days', 'days'], ['hours', 'hours']]),
        select('expiry_from', 'Counted from', [['activation', 'its start'], ['assignment', 'when it is given']]),
      ),
      daysBox,
      h('div', { class: 'row-fields' }, input('hours_from', 'From (time of day)', { type: 'time' }), input('hours_to', 'To', { type: 'time' })),
      h('p', { class: 'muted small' }, 'Days and hours make it live only in those windows, every week.'),
    ),
    section('Order', input('priority', 'Priority (optional)', { type: 'number', step: 1 }, 'Higher goes first when coupons compete; 0 by default.')),
    keptNotes.length ? h('div', { class: 'kept muted small' }, keptNotes.map((n) => h('p', {}, n))) : null,
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'submit', class: 'primary', id: 'publish' }, isNew ? 'Publish coupon' : 'Publish changes'),
      h('a', { class: 'button secondary', href: isNew ? '#coupons' : `#coupon/${encodeURIComponent(param)}` }, 'Cancel'),
    ),
    h('div', { id: 'publish-status', role: 'status', 'aria-live': 'polite' }),
    h('div', { id: 'offline-sign', hidden: true }),
  );

  // ---- reading the form
  function read() {
    const v = { ...values };
    for (const [name, el] of Object.entries(fields)) {
      if (el.tagName === 'FIELDSET') {
        if (name === 'days') v.days = [...el.querySelectorAll('input:checked')].map((i) => i.value);
        else v[name] = el.querySelector('input:checked')?.value ?? values[name];
      } else if (el.type === 'checkbox') v[name] = el.checked;
      else v[name] = el.value;
    }
    return v;
  }
  function showWhen() {
    const v = read();
    for (const box of form.querySelectorAll('[data-when]')) {
      const [k, opts] = box.dataset.when.split('=');
      box.hidden = !opts.split('|').includes(String(v[k]));
    }
  }

  function setErrors(errors) {
    for (const [name, p] of Object.entries(errorsOf)) {
      p.textContent = errors[name] ?? '';
      const el = fields[name];
      if (el && el.tagName !== 'FIELDSET') {
        if (errors[name]) el.setAttribute('aria-invalid', 'true');
        else el.removeAttribute('aria-invalid');
      }
    }
  }
  function showSummary(errors, extra) {
    const entries = Object.entries(errors);
    if (!entries.length && !extra) {
      summary.hidden = true;
      return;
    }
    summary.hidden = false;
    summary.replaceChildren(h('p', {}, extra ?? `Fix ${entries.length === 1 ? 'this' : `these ${entries.length}`} before publishing:`));
    if (entries.length) summary.append(h('ul', {}, entries.map(([name, msg]) => h('li', {}, h('a', { href: `#f-${name}`, onclick: (e) => (e.preventDefault(), focusField(name)) }, msg)))));
    summary.focus();
  }
  function focusField(name) {
    const el = fields[name];
    if (!el) return;
    const target = el.tagName === 'FIELDSET' ? el.querySelector('input') : el;
    target.focus();
    target.scrollIntoView({ block: 'center' });
  }

  // ---- the payload to publish and the one to preview
  function payloadWith(coupon) {
    const now = Date.now();
    const coupons = isNew ? [...base.coupons, coupon] : base.coupons.map((c) => (c.id === coupon.id ? coupon : c));
    // Keep the price list's expiry when it is comfortably ahead; else give it 30 more days.
    const expires = Date.parse(base.expires_at) > now + 7 * DAY_MS ? base.expires_at : iso(now + 30 * DAY_MS);
    const p = { ...base, issued_at: iso(now), expires_at: expires, coupons };
    return withOffsetTables(p);
  }

  // ---- live preview
  const previewBox = h('div', { id: 'preview-result', 'aria-live': 'polite' });
  const previewNote = h('p', { class: 'muted small', id: 'preview-note' });
  const qty = new Map();
  const sample = shop?.products ?? [];
  const paymentSel = h('select', { id: 'pv-payment' }, (shop?.payment_methods ?? []).map((m) => h('option', { value: m.id }, m.label)));
  const cartRows = sample.map((p, i) => {
    const el = h('input', { type: 'number', min: 0, max: 99, value: i < 2 ? 1 : 0, id: `pv-${p.id}`, class: 'qty', inputmode: 'numeric' });
    qty.set(p.id, el);
    return h('li', {}, h('label', { for: `pv-${p.id}` }, `${isolate(p.name)}, ${money(p.unit_price, cur)}`), el);
  });
  const preview = h(
    'aside',
    { class: 'panel preview', 'aria-labelledby': 'preview-title' },
    h('h2', { id: 'preview-title' }, 'Preview'),
    h('p', { class: 'muted small' }, 'A sample cart priced in this browser by the same engine the checkout runs, with this coupon alone.'),
    h('ul', { class: 'sample-cart' }, cartRows),
    shop?.payment_methods?.length ? h('div', { class: 'field' }, h('label', { for: 'pv-payment' }, 'Payment method'), paymentSel) : null,
    previewNote,
    previewBox,
  );

  let previewSeq = 0;
  async function runPreview() {
    const seq = ++previewSeq;
    const v = read();
    const errors = validate(v, { manifest, isNew, ids });
    const blocking = Object.keys(errors).filter((k) => k !== 'hidden');
    if (blocking.length) {
      previewBox.replaceChildren(h('p', { class: 'muted' }, 'Fill in the highlighted fields to see the preview.'));
      previewNote.textContent = '';
      form.dataset.preview = 'incomplete';
      return;
    }
    const coupon = toCoupon(v, original, manifest);
    const notes = [];
    const previewCoupon = clone(coupon);
    if (['draft', 'paused'].includes(coupon.status)) {
      previewCoupon.status = 'active';
      notes.push(`Priced as if it were active (it will be published as ${coupon.status}).`);
    }
    const nowMs = Date.now();
    let at = nowMs;
    if (coupon.activation?.type === 'time' && Date.parse(coupon.activation.at) > nowMs) {
      at = Date.parse(coupon.activation.at) + 60e3;
      notes.push(`Priced as at ${dateTime(iso(at))}, just after it starts.`);
    }
    const expires = Math.max(Date.parse(base.expires_at), at + DAY_MS);
    const payload = { ...base, issued_at: iso(nowMs - 60e3), expires_at: iso(expires), coupons: [previewCoupon] };
    const lines = sample
      .map((p) => ({ p, n: Number(qty.get(p.id).value) }))
      .filter(({ n }) => Number.isInteger(n) && n > 0)
      .map(({ p, n }) => ({ id: `line-${p.id}`, product_id: p.id, quantity: n, unit_price: p.unit_price, attributes: p.attributes ?? {} }));
    const user = { ...(shop?.user?.context ?? { id: 'preview-customer' }) };
    if (coupon.audience?.type === 'assigned') user.assignments = [{ coupon_id: coupon.id, assigned_at: iso(at - 60e3) }];
    if (coupon.activation?.type === 'event') user.events = [...(user.events ?? []), { id: 'preview-event', name: coupon.activation.event, at: iso(at - 60e3) }];
    let codes = [];
    // Several sources: the first one the page can price (a code in clear, or a bulk format).
    const sources = coupon.codes.type === 'multi' ? coupon.codes.sources ?? [] : [coupon.codes];
    const source = sources.find((s) => s.type === 'bulk' || s.code) ?? sources[0] ?? { type: 'none' };
    if (source.type === 'static' && source.code) codes = [source.code];
    else if (source.type === 'static') notes.push('The hidden code is not known here, so the preview cannot apply it.');
    if (source.type === 'bulk') {
      const sampleCode = await sampleBulkCode(source);
      codes = [sampleCode];
      notes.push(`Priced with the sample code ${sampleCode}: the page checks its format${source.check ? ' and check character' : ''}; the shop checks each real code.`);
    }
    if (coupon.schedule) notes.push('Days and hours count: outside them the engine says so.');
    let engine;
    try {
      engine = await engineFor(payload, iso(nowMs));
      if (seq !== previewSeq) return;
      const cart = { currency: cur, lines, ...(shop?.shipping ? { shipping: shop.shipping } : {}), ...(shop?.fees ? { fees: shop.fees } : {}), attributes: { payment_method: paymentSel.value } };
      const ev = engine.evaluate({ cart, user, codes, now: iso(at) });
      drawPreview(ev, coupon);
      // The settings in words, as the engine (and couponctl inspect) says them.
      const words = engine.describe?.(coupon.id)?.[0]?.lines ?? [];
      if (words.length) {
        previewBox.append(h('h3', {}, 'In words'), h('dl', { class: 'settings words', id: 'preview-words' }, words.flatMap((l) => [h('dt', {}, l.label), h('dd', {}, l.text)])));
      }
      previewNote.textContent = notes.join(' ');
      setErrors({});
      form.dataset.preview = 'ok';
    } catch (err) {
      if (seq !== previewSeq) return;
      const field = fieldOfPath(err.path, 0);
      previewBox.replaceChildren(h('p', { class: 'error' }, `The engine refuses this coupon: ${err.message}`));
      if (field) setErrors({ [field]: err.message });
      form.dataset.preview = 'error';
    } finally {
      engine?.free();
    }
  }

  function drawPreview(ev, coupon) {
    const applied = ev.applied.find((a) => a.coupon_id === coupon.id);
    const rejected = ev.rejected.find((r) => r.coupon_id === coupon.id) ?? ev.rejected[0];
    const t = ev.totals;
    const row = (label, raw, key, cls, text = money(raw, cur)) => h('tr', { 'data-total': key, 'data-amount': String(raw), class: cls }, h('th', { scope: 'row' }, label), h('td', {}, text));
    previewBox.replaceChildren(
      applied
        ? h('p', { class: 'ok', 'data-outcome': 'applied' }, applied.cashback_points ? `Applies: ${count(applied.cashback_points)} points back.` : `Applies: ${money(applied.discount, cur)} off (${applied.summary}).`)
        : rejected
          ? h('p', { class: 'error', 'data-outcome': 'rejected' }, `Does not apply: ${rejected.reason.message}.`)
          : h('p', { class: 'muted', 'data-outcome': 'none' }, 'Does not apply to this cart (its conditions are not met).'),
      h(
        'table',
        { class: 'breakdown' },
        h('caption', { class: 'visually-hidden' }, 'Sample cart totals'),
        h(
          'tbody',
          {},
          row('Items', t.subtotal, 'subtotal'),
          ev.shipping ? row('Shipping', t.shipping, 'shipping') : null,
          ev.fees?.length ? row('Fees', t.fees, 'fees') : null,
          row('Discount', t.discount, 'discount', 'discount', `−${money(t.discount, cur)}`),
          row('Total', t.total, 'total', 'total'),
          ev.cashback_points ? row('Points back', ev.cashback_points, 'points', '', count(ev.cashback_points)) : null,
        ),
      ),
    );
  }

  let timer;
  const schedulePreview = () => {
    clearTimeout(timer);
    timer = setTimeout(() => runPreview(), 150);
  };

  form.addEventListener('input', (e) => {
    if (e.target === fields.name && !idTouched) fields.id.value = slug(fields.name.value);
    if (e.target === fields.id) idTouched = true;
    // An error shown at a field goes as soon as the field is right; the summary, once all are.
    const name = e.target.name;
    if (errorsOf[name]?.textContent && !validate(read(), { manifest, isNew, ids })[name]) {
      errorsOf[name].textContent = '';
      if (fields[name]?.tagName !== 'FIELDSET') fields[name].removeAttribute('aria-invalid');
      if (!Object.values(errorsOf).some((p) => p.textContent)) summary.hidden = true;
    }
    showWhen();
    schedulePreview();
  });
  // A field's own check when it is left (change): errors at the field as the marketer goes.
  form.addEventListener('change', (e) => {
    showWhen();
    schedulePreview();
    const name = e.target.name;
    if (!name || !errorsOf[name]) return;
    const msg = validate(read(), { manifest, isNew, ids })[name];
    errorsOf[name].textContent = msg ?? '';
    if (fields[name]?.tagName !== 'FIELDSET') {
      if (msg) fields[name].setAttribute('aria-invalid', 'true');
      else fields[name].removeAttribute('aria-invalid');
    }
  });
  preview.addEventListener('input', schedulePreview);
  preview.addEventListener('change', schedulePreview);

  // ---- publishing
  const status = form.querySelector('#publish-status');
  const offline = form.querySelector('#offline-sign');
  let busy = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    const v = read();
    const errors = validate(v, { manifest, isNew, ids });
    setErrors(errors);
    if (Object.keys(errors).length) {
      showSummary(errors);
      return;
    }
    const coupon = toCoupon(v, original, manifest);
    const payload = payloadWith(coupon);
    busy = true;
    const button = form.querySelector('#publish');
    button.disabled = true;
    status.textContent = 'Checking…';
    try {
      // The engine in this page first (instant), then the Worker's own check.
      let engine;
      try {
        engine = await engineFor(payload, iso(Date.now()));
      } catch (err) {
        return fieldError(err);
      } finally {
        engine?.free();
      }
      try {
        await api.checkPayload(payload);
      } catch (err) {
        if (err.status === 422) return fieldError(err);
        throw err;
      }
      status.textContent = 'Publishing…';
      try {
        await api.signAndPublish(payload);
      } catch (err) {
        if (err.code === 'SIGNING_DISABLED') return offerOfflineSigning(payload, coupon);
        if (err.status === 422) return fieldError(err);
        throw err;
      }
      published(coupon);
    } catch (err) {
      status.textContent = '';
      showSummary({}, `Not published: ${err.message}${err.code ? ` (${err.code})` : ''}`);
    } finally {
      busy = false;
      button.disabled = false;
    }
  });

  function fieldError(err) {
    status.textContent = '';
    const field = fieldOfPath(err.path, index);
    if (field) {
      setErrors({ [field]: err.message });
      showSummary({ [field]: err.message });
    } else showSummary({}, `Not published: ${err.message}${err.code ? ` (${err.code})` : ''}`);
  }

  function published(coupon) {
    store.invalidate();
    status.textContent = '';
    notify(`Published: ${isolate(coupon.name)} is in the new version${coupon.status === 'active' ? ' and live at the checkout' : ''}.`);
    navigate(`#coupon/${encodeURIComponent(coupon.id)}`);
  }

  function offerOfflineSigning(payload, coupon) {
    status.textContent = '';
    const forCli = { ...payload };
    delete forCli.time_zones; // couponctl sign writes it from the system's zone database
    const file = h('input', { type: 'file', id: 'jws-file', accept: '.jws,.txt,application/jose' });
    const err = h('p', { class: 'error small', id: 'jws-error', 'aria-live': 'assertive' });
    const upload = h('button', { type: 'button', id: 'jws-upload' }, 'Upload and publish');
    upload.addEventListener('click', async () => {
      err.textContent = '';
      const f = file.files?.[0];
      if (!f) {
        err.textContent = 'Choose the signed file first.';
        return;
      }
      upload.disabled = true;
      try {
        await api.publishJws(await f.text());
        published(coupon);
      } catch (e) {
        err.textContent = `${e.message}${e.code ? ` (${e.code})` : ''}`;
      } finally {
        upload.disabled = false;
      }
    });
    offline.hidden = false;
    offline.replaceChildren(
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'offline-title' },
        h('h2', { id: 'offline-title', tabindex: '-1' }, 'Sign it with your own key'),
        h('p', {}, 'This shop keeps its signing key offline, so the console cannot sign. Download the new version, sign it where the key is, and upload the signed file.'),
        h('button', { type: 'button', id: 'payload-download', onclick: () => download(`${payload.id}-payload.json`, `${JSON.stringify(forCli, null, 2)}\n`, 'application/json') }, 'Download the version to sign'),
        h('pre', { class: 'cmd' }, `couponctl sign --key keys/shop.jwk.json ${payload.id}-payload.json --out ${payload.id}.jws`),
        h('div', { class: 'field' }, h('label', { for: 'jws-file' }, 'Signed file (.jws)'), file),
        upload,
        err,
      ),
    );
    offline.querySelector('h2').focus();
  }

  put(root, 
    h('p', { class: 'crumbs' }, h('a', { href: '#coupons' }, 'Coupons'), ' / ', isNew ? '' : h('a', { href: `#coupon/${encodeURIComponent(param)}` }, isolate(original.name)), isNew ? '' : ' / '),
    h('h1', { tabindex: '-1' }, isNew ? 'New coupon' : `Edit ${isolate(original.name)}`),
    h('div', { class: 'form-layout' }, form, preview),
  );
  showWhen();
  runPreview();
}
