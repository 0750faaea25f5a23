// The JSON Schema and the engine agree (issue 17, point 10): every manifest of tests/vectors/*.json
// and docs/examples/, and a set of edge cases below, goes through both docs/manifest.schema.json
// (ajv) and the engine's loader (pkg/, signed with the test key, at the vector's `now` and limits).
// - What the schema refuses, the engine refuses.
// - What the schema accepts, the engine loads, or the engine's refusal is one the schema's
//   `description` names as a check it cannot make (rules across fields or the whole manifest, the
//   caller's clock and engine limits). Such a manifest is labelled below with that check; an
//   unlabelled disagreement fails, so a new one is either fixed in the schema or named there.
// tests/node/schema.test.mjs holds the other half: what the engine loads, the schema accepts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { ROOT, VECTORS_DIR, loadPackage, signJws, testJwks, vectorFiles } from './helpers.mjs';

const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
const schema = readJson(path.join(ROOT, 'docs/manifest.schema.json'));
const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
addFormats(ajv);
const validate = ajv.compile(schema);
const { CouponEngine } = await loadPackage();
const jwks = testJwks();

/** The checks only the engine makes, each in the words of the schema's description. */
const ENGINE_ONLY = {
  ids: 'unique coupon ids',
  codes: 'unique codes',
  bulk_length: 'a bulk code length at least 6 more than its prefix',
  segments: 'segments and limit groups that are defined',
  group_budget: 'no group budget on a cashback coupon',
  prefixes: 'non-overlapping bulk prefixes',
  window: 'window.end after window.start',
  tiers: 'tiers going up strictly by min',
  minor_units: "amounts within the currency's minor-unit digits",
  durations: 'durations of at most 100 years',
  rule_numbers: 'numbers in rules within the exact decimal range',
  nesting: 'rule nesting (12 levels)',
  time_zones: 'time_zones that every named zone has and that only named zones have, entries going up by `from`, the first at or before issued_at',
  clock: "the manifest's validity at the caller's clock",
  limits: "the caller's engine limits",
};

/** Vectors whose manifest the schema accepts and the engine refuses, and the check that explains it. */
const VECTOR_CHECKS = {
  '179-limit-exceeded-coupons.json': 'limits',
  '183-manifest-duplicate-coupon-ids.json': 'ids',
  '185-manifest-undefined-segment.json': 'segments',
  '186-manifest-duplicate-code.json': 'codes',
  '189-manifest-amount-too-many-decimals.json': 'minor_units',
  '191-manifest-expired.json': 'clock',
  '192-manifest-expired-at-instant.json': 'clock',
  '193-manifest-not-yet-valid.json': 'clock',
  '196-limit-exceeded-manifest-bytes.json': 'limits',
  '262-time-zones-zone-without-table.json': 'time_zones',
  '263-time-zones-table-for-zone-not-named.json': 'time_zones',
  '264-time-zones-entries-not-increasing.json': 'time_zones',
  '265-time-zones-first-entry-after-issued-at.json': 'time_zones',
  '267-time-zones-settings-zone-without-table.json': 'time_zones',
  '407-limit-group-unknown-refused.json': 'segments',
  '416-multi-codes-prefix-overlap-refused.json': 'prefixes',
  '502-hostile-manifest-rule-nested-40-deep.json': 'nesting',
};

/** Loads a manifest; the refusal's code and message, or null when it loads. */
function engineRefusal(manifest, now, limits) {
  try {
    CouponEngine.fromSignedManifest(signJws(manifest), jwks, { now, ...(limits ? { limits } : {}) }).free();
    return null;
  } catch (e) {
    assert.ok(typeof e.code === 'string', `the engine threw without a code: ${e}`);
    return `${e.code}: ${e.message}`;
  }
}

/** Holds the schema and the engine to each other on one manifest; `check` labels a known gap. */
function agree(label, manifest, now, limits, check) {
  const accepted = validate(manifest);
  const schemaErrors = accepted ? '' : validate.errors.map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
  const refused = engineRefusal(manifest, now, limits);
  if (!accepted) {
    assert.ok(refused, `${label}: the schema refuses it (${schemaErrors}) but the engine loads it`);
    assert.equal(check, undefined, `${label}: labelled '${check}', but the schema refuses it already: drop the label`);
    return;
  }
  if (!refused) {
    assert.equal(check, undefined, `${label}: labelled '${check}', but the engine loads it: drop the label`);
    return;
  }
  assert.ok(
    check,
    `${label}: the schema accepts it but the engine refuses it (${refused}). Fix docs/manifest.schema.json, or, if no JSON Schema can say it, name the check in its description and label the case here`,
  );
  assert.ok(check in ENGINE_ONLY, `${label}: unknown check '${check}'`);
}

test("the schema's description names every check only the engine makes", () => {
  for (const [key, words] of Object.entries(ENGINE_ONLY)) {
    assert.ok(schema.description.includes(words), `the schema's description does not name '${key}': "${words}"`);
  }
});

for (const file of vectorFiles()) {
  test(`tests/vectors/${file}: the schema and the engine agree on its manifest`, () => {
    const v = readJson(path.join(VECTORS_DIR, file));
    agree(file, v.manifest, v.now, v.limits, VECTOR_CHECKS[file]);
  });
}

test('every labelled vector exists', () => {
  const files = new Set(vectorFiles());
  for (const file of Object.keys(VECTOR_CHECKS)) assert.ok(files.has(file), `${file} is labelled but not in tests/vectors`);
});

const EXAMPLES_DIR = path.join(ROOT, 'docs/examples');
for (const file of fs.readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.json')).sort()) {
  test(`docs/examples/${file}: the schema and the engine agree`, () => {
    const m = readJson(path.join(EXAMPLES_DIR, file));
    // An hour after it is issued, as tests/docs_examples.rs loads it.
    const now = new Date(Date.parse(m.issued_at) + 3600_000).toISOString().replace('.000Z', 'Z');
    agree(file, m, now);
  });
}

// Edge cases around the rules the two could read differently. Each either agrees or names the check.
const BASE = { version: 1, id: 'shop', issued_at: '2026-11-01T00:00:00Z', expires_at: '2026-12-31T00:00:00Z', currency: 'USD', coupons: [] };
const COUPON = { id: 'c', name: 'C', status: 'active', codes: { type: 'automatic' }, reward: { type: 'percentage', percent: '10', target: { type: 'order' } } };
const NOW = '2026-11-23T12:00:00Z';
const withCoupon = (patch, top = {}) => ({ ...BASE, ...top, coupons: [{ ...COUPON, ...patch }] });
const tiers = (basis, ...mins) => ({ reward: { type: 'tiered', basis, target: { type: 'order' }, tiers: mins.map((min, i) => ({ min, percent: String(5 + i) })) } });
const socks = { type: 'products', match: { fact: 'line.attributes.category', op: 'eq', value: 'socks' } };
const fixedPrice = (price) => ({ reward: { type: 'fixed_price', price, quantity: 2, target: socks } });
const EDGE_CASES = [
  ['a tier min of "0" (the known gap)', withCoupon(tiers('amount', '0', '100.00'))],
  ['a tier min of "0.00"', withCoupon(tiers('amount', '0.00'))],
  ['a quantity tier min of 0', withCoupon(tiers('quantity', 0))],
  ['tiers that do not go up', withCoupon(tiers('amount', '100.00', '50.00')), 'tiers'],
  ['a fixed price of "0"', withCoupon(fixedPrice('0'))],
  ['a fixed price of "0.01"', withCoupon(fixedPrice('0.01'))],
  ['money with 15 digits before the point', withCoupon({ limits: { budget: '999999999999999.99' } })],
  ['money with 16 digits before the point', withCoupon({ limits: { budget: '1000000000000000' } })],
  ['an amount past the minor unit', withCoupon({ reward: { type: 'fixed_amount', amount: '5.001', target: { type: 'order' } } }), 'minor_units'],
  ['JPY with decimals', withCoupon({ reward: { type: 'fixed_amount', amount: '5.5', target: { type: 'order' } } }, { currency: 'JPY' }), 'minor_units'],
  ['a code of 64 characters', withCoupon({ codes: { type: 'static', code: 'A'.repeat(64) } })],
  ['a code of 64 characters with separators', withCoupon({ codes: { type: 'static', code: `${'AB-'.repeat(32)}` } })],
  ['a code of 65 characters', withCoupon({ codes: { type: 'static', code: 'A'.repeat(65) } })],
  ['a bulk prefix of 16', withCoupon({ codes: { type: 'bulk', prefix: 'P'.repeat(16), length: 22 } })],
  ['a bulk prefix of 17', withCoupon({ codes: { type: 'bulk', prefix: 'P'.repeat(17), length: 30 } })],
  ['a bulk length too short for its prefix', withCoupon({ codes: { type: 'bulk', prefix: 'P'.repeat(10), length: 15 } }), 'bulk_length'],
  ['a count of 2^53 - 1', withCoupon({ limits: { global: 9007199254740991 } })],
  ['a count of 2^53', withCoupon({ limits: { global: 9007199254740992 } })],
  ['buy quantity of 2^60', withCoupon({ reward: { type: 'buy_x_get_y', buy: { match: socks.match, quantity: 2 ** 60 }, percent: '100' } })],
  ['a leap second', { ...withCoupon({}), issued_at: '2026-10-31T23:59:60Z' }],
  ['a leap second in a rule', withCoupon({ conditions: { fact: 'cart.attributes.at', op: 'gte', value: '2026-11-01T23:59:60Z' } })],
  ['a lower-case t and z', { ...withCoupon({}), issued_at: '2026-11-01t00:00:00z' }],
  ['a window the wrong way round', withCoupon({ window: { start: '2026-12-01T00:00:00Z', end: '2026-11-01T00:00:00Z' } }), 'window'],
  ['expires_at before issued_at', { ...withCoupon({}), expires_at: '2026-10-01T00:00:00Z' }, 'clock'],
  ['a duration of 100 years', withCoupon({ expiry: { type: 'relative', duration: 'P36500D', from: 'activation' }, activation: { type: 'time', at: '2026-11-02T00:00:00Z' } })],
  ['a duration past 100 years', withCoupon({ expiry: { type: 'relative', duration: 'P99999D', from: 'activation' }, activation: { type: 'time', at: '2026-11-02T00:00:00Z' } }), 'durations'],
  ['a rule number past the decimal range', withCoupon({ conditions: { fact: 'cart.subtotal', op: 'gte', value: '123456789012345678901234567890' } }), 'rule_numbers'],
  ['an undefined segment', withCoupon({ audience: { type: 'segment', segment: 'gold' } }), 'segments'],
  ['no coupons', { ...BASE }],
  ['a per-line cap on each', withCoupon({ reward: { type: 'fixed_amount', amount: '1.00', allocation: 'each', target: { ...socks, max_quantity_per_line: 1 } } })],
  ['a per-line cap with select and max_quantity', withCoupon({ reward: { type: 'percentage', percent: '50', target: { ...socks, select: 'cheapest', max_quantity: 3, max_quantity_per_line: 2 } } })],
  ['a per-line cap of 0', withCoupon({ reward: { type: 'percentage', percent: '50', target: { ...socks, max_quantity_per_line: 0 } } })],
  ['a per-line cap on the order', withCoupon({ reward: { type: 'percentage', percent: '50', target: { type: 'order', max_quantity_per_line: 1 } } })],
  ['a per-line cap on a tiered reward', withCoupon({ reward: { type: 'tiered', basis: 'quantity', tiers: [{ min: 2, percent: '10' }], target: { ...socks, max_quantity_per_line: 1 } } })],
  ['max_quantity without select', withCoupon({ reward: { type: 'percentage', percent: '50', target: { ...socks, max_quantity: 1 } } })],
  ['free shipping on one method', withCoupon({ reward: { type: 'percentage', percent: '100', target: { type: 'shipping', match: { fact: 'shipping.method', op: 'eq', value: 'express' } } } })],
  ['a shipping rule on shipping attributes and the cart', withCoupon({ reward: { type: 'fixed_amount', amount: '5.00', allocation: 'each', target: { type: 'shipping', match: { all: [{ fact: 'shipping.attributes.warehouse', op: 'eq', value: 'berlin' }, { fact: 'cart.subtotal', op: 'gte', value: '50.00' }] } } } })],
  ['a line fact in a shipping rule', withCoupon({ reward: { type: 'percentage', percent: '100', target: { type: 'shipping', match: { fact: 'line.product_id', op: 'eq', value: 'x' } } } })],
  ['a shipping fact in a product rule', withCoupon({ reward: { type: 'percentage', percent: '10', target: { type: 'products', match: { fact: 'shipping.method', op: 'eq', value: 'express' } } } })],
  ['a shipping fact in conditions', withCoupon({ conditions: { fact: 'shipping.amount', op: 'gte', value: '5.00' } })],
  ['allocation each on the order', withCoupon({ reward: { type: 'fixed_amount', amount: '5.00', allocation: 'each', target: { type: 'order' } } })],
  ['a match on a fee target', withCoupon({ reward: { type: 'percentage', percent: '100', target: { type: 'fee', fee: 'gift_wrap', match: { fact: 'shipping.method', op: 'eq', value: 'x' } } } })],
  ['tiers on shipping', withCoupon({ reward: { type: 'tiered', basis: 'amount', target: { type: 'shipping' }, tiers: [{ min: '50.00', percent: '50' }, { min: '100.00', percent: '100' }] } })],
  ['tiers on express shipping', withCoupon({ reward: { type: 'tiered', basis: 'amount', target: { type: 'shipping', match: { fact: 'shipping.method', op: 'eq', value: 'express' } }, tiers: [{ min: '50.00', percent: '100' }] } })],
  ['tiers on a fee by quantity', withCoupon({ reward: { type: 'tiered', basis: 'quantity', target: { type: 'fee', fee: 'service_fee' }, tiers: [{ min: 3, amount: '1.00' }, { min: 5, percent: '100' }] } })],
  ['tiers on a fee without its id', withCoupon({ reward: { type: 'tiered', basis: 'quantity', target: { type: 'fee' }, tiers: [{ min: 3, amount: '1.00' }] } })],
  ['on_budget refuse with a budget', withCoupon({ limits: { budget: '100.00', on_budget: 'refuse' } })],
  ['on_budget without a budget', withCoupon({ limits: { global: 5, on_budget: 'refuse' } })],
  ['on_budget of another word', withCoupon({ limits: { budget: '100.00', on_budget: 'stop' } })],
];

for (const [label, manifest, check] of EDGE_CASES) {
  test(`edge case: ${label}`, () => agree(label, manifest, NOW, undefined, check));
}
