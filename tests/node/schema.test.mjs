// Validates manifests against docs/manifest.schema.json (JSON Schema draft 2020-12) with ajv:
// every docs/examples/*.json, every manifest fragment in docs/manifest.md, and the manifest of every
// tests/vectors/*.json that the engine loads (a vector expecting a MANIFEST_* error is meant to be
// refused). The Rust side (tests/docs_examples.rs) loads the same examples through the engine, so
// the schema and the engine are held to the same files.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { ROOT, VECTORS_DIR } from './helpers.mjs';

const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
const jsonFiles = (dir) =>
  fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];

const schema = readJson(path.join(ROOT, 'docs/manifest.schema.json'));
const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
addFormats(ajv);
const validate = ajv.compile(schema);

/** Fails with every schema error, each with its JSON pointer. */
function assertValid(manifest, label) {
  if (validate(manifest)) return;
  const errors = validate.errors
    .map((e) => `  ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`)
    .join('\n');
  assert.fail(`${label} does not match docs/manifest.schema.json:\n${errors}`);
}

const refuses = (manifest) => !validate(manifest);

const EXAMPLES_DIR = path.join(ROOT, 'docs/examples');
const examples = jsonFiles(EXAMPLES_DIR);

test('docs/examples holds the demo manifest and at least six examples', () => {
  assert.ok(examples.includes('demo-manifest.json'), 'docs/examples/demo-manifest.json is missing');
  assert.ok(examples.length >= 7, `only ${examples.length} examples in docs/examples`);
});

for (const file of examples) {
  test(`docs/examples/${file} matches the schema`, () => {
    assertValid(readJson(path.join(EXAMPLES_DIR, file)), file);
  });
}

// ```json blocks of docs/manifest.md, classified the same way as in tests/docs_examples.rs:
// a full manifest has `version`; requests (`cart`, `now`, `code` + `user`) and results
// (`manifest_id`, `valid`, arrays) are checked by the Rust test; anything else is a coupon fragment,
// laid over a base coupon and placed in a base manifest.
function markdownJsonBlocks(text) {
  const blocks = [];
  const fence = /^```json[ \t]*\n([\s\S]*?)^```[ \t]*$/gm;
  for (let m; (m = fence.exec(text)); ) {
    const line = text.slice(0, m.index).split('\n').length;
    blocks.push({ line, value: JSON.parse(m[1]) });
  }
  return blocks;
}

const BASE_MANIFEST = {
  version: 1,
  id: 'shop-docs',
  issued_at: '2026-11-20T00:00:00Z',
  expires_at: '2027-01-31T00:00:00Z',
  currency: 'USD',
  segments: {
    new_customers: { fact: 'user.properties.orders_count', op: 'eq', value: 0 },
    staff: { fact: 'user.segments', op: 'contains', value: 'staff' },
  },
  coupons: [],
};

const BASE_COUPON = {
  id: 'docs-snippet',
  name: 'Snippet',
  status: 'active',
  codes: { type: 'automatic' },
  reward: { type: 'percentage', percent: '10', target: { type: 'order' } },
};

const isManifest = (v) => v && typeof v === 'object' && !Array.isArray(v) && 'version' in v;
const isCallOrResult = (v) =>
  Array.isArray(v) || ['cart', 'now', 'manifest_id', 'valid', 'assigned'].some((k) => k in v) || ('user' in v && ('code' in v || 'event' in v));

test('every ```json block of docs/manifest.md that is a manifest or coupon matches the schema', () => {
  const blocks = markdownJsonBlocks(fs.readFileSync(path.join(ROOT, 'docs/manifest.md'), 'utf8'));
  assert.ok(blocks.length >= 10, `only ${blocks.length} json blocks in docs/manifest.md`);
  let checked = 0;
  for (const { line, value } of blocks) {
    if (isManifest(value)) {
      assertValid(value, `docs/manifest.md:${line}`);
    } else if (!isCallOrResult(value)) {
      assertValid({ ...BASE_MANIFEST, coupons: [{ ...BASE_COUPON, ...value }] }, `docs/manifest.md:${line} (a coupon fragment)`);
    } else {
      continue;
    }
    checked += 1;
  }
  assert.ok(checked >= 8, `only ${checked} manifest fragments checked`);
});

// A vector's manifest is meant to load unless the vector expects a MANIFEST_* error.
const meantToLoad = (v) => !(typeof v.expect?.error === 'string' && v.expect.error.startsWith('MANIFEST_'));

for (const file of jsonFiles(VECTORS_DIR)) {
  test(`tests/vectors/${file}: a manifest the engine loads matches the schema`, (t) => {
    const v = readJson(path.join(VECTORS_DIR, file));
    assert.ok(v && typeof v === 'object' && 'manifest' in v, `${file}: no manifest`);
    if (!meantToLoad(v)) {
      t.diagnostic(`expects ${v.expect.error}: the manifest is meant to be refused`);
      return;
    }
    assertValid(v.manifest, `tests/vectors/${file}`);
  });
}

test('the schema refuses what the engine refuses', () => {
  const demo = readJson(path.join(EXAMPLES_DIR, 'demo-manifest.json'));
  const withCoupon = (patch) => ({ ...demo, coupons: [{ ...BASE_COUPON, ...patch }] });
  assert.ok(!refuses(withCoupon({})), 'the base coupon itself must be valid');

  assert.ok(refuses(withCoupon({ colour: 'red' })), 'an unknown field in a coupon');
  assert.ok(refuses({ ...demo, owner: 'me' }), 'an unknown top-level field');
  assert.ok(refuses(withCoupon({ codes: { type: 'automatic', code: 'X' } })), 'an unknown field in a tagged union');
  assert.ok(refuses(withCoupon({ reward: { ...BASE_COUPON.reward, percent: 10 } })), 'a percentage as a JSON number');
  assert.ok(refuses(withCoupon({ limits: { budget: 100 } })), 'money as a JSON number');
  assert.ok(refuses(withCoupon({ limits: { budget: '-1.00' } })), 'a negative amount');
  assert.ok(refuses(withCoupon({ reward: { ...BASE_COUPON.reward, percent: '0' } })), 'a zero percentage');
  assert.ok(refuses(withCoupon({ reward: { ...BASE_COUPON.reward, percent: '100.5' } })), 'over 100 percent');
  assert.ok(refuses({ ...demo, issued_at: '2026-01-01 00:00' }), 'a time that is not RFC 3339');
  assert.ok(refuses(withCoupon({ status: 'live' })), 'an unknown status');
  assert.ok(
    refuses(withCoupon({ visibility: 'hidden', codes: { type: 'static', code: 'SECRET' } })),
    'a hidden coupon with its code in clear',
  );
  assert.ok(
    refuses(withCoupon({ codes: { type: 'static', code: 'A', code_hash: 'Z0eu5iEVKNiNN4GlZaNf5Y-jYVPwtFny_uCCRBduFCQ' } })),
    'both code and code_hash',
  );
  assert.ok(refuses(withCoupon({ status: 'scheduled' })), 'scheduled without a time activation');
  assert.ok(
    refuses(withCoupon({ expiry: { type: 'relative', duration: 'PT48H', from: 'assignment' } })),
    'relative to assignment without an assigned audience',
  );
  assert.ok(refuses(withCoupon({ expiry: { type: 'relative', duration: 'P1M', from: 'activation' }, activation: { type: 'time', at: '2026-01-01T00:00:00Z' } })), 'a month duration');
  assert.ok(
    refuses(withCoupon({ reward: { type: 'cashback', points: 100 }, limits: { budget: '10.00' } })),
    'a money budget on cashback',
  );
  assert.ok(refuses(withCoupon({ reward: { type: 'cashback', points: 100, percent: '5' } })), 'cashback with two amounts');
  assert.ok(
    refuses({ ...demo, segments: { s: { fact: 'cart.subtotal', op: 'gte', value: '10' } } }),
    'a cart fact in a segment rule',
  );
  assert.ok(
    refuses(withCoupon({ conditions: { fact: 'line.total', op: 'gte', value: '10' } })),
    'a line fact outside any_line',
  );
  assert.ok(refuses(withCoupon({ conditions: { fact: 'user.properties.x', op: 'in', value: 'a' } })), '`in` without a list');
  assert.ok(
    refuses(withCoupon({ conditions: { all: [], any: [{ fact: 'user.id', op: 'exists' }] } })),
    'a rule with two forms',
  );
  assert.ok(refuses({ ...demo, currency: 'XXX' }), 'an unknown currency');
  assert.ok(refuses({ ...demo, version: 2 }), 'another version');
});
