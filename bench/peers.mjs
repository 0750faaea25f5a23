// Side by side on the same carts: the manifest's eligibility and discount rules expressed in
// json-rules-engine and in @gorules/zen-engine, timed in the same process as this package's
// engine.evaluate. Writes target/bench/peers.json. Never asserts.
//
// Each run is a fresh process (BENCH_PEERS_PROCESSES, default 3), and the one with the median
// json-rules-engine ratio is reported whole, the others' ratios beside it: a process's JIT can
// make one engine slow for its whole life (one run read json-rules-engine at 2.44 ms where the
// runs around it read 1.36 to 1.63), which rounds within a process cannot even out.
//
// Fairness: every engine is built once (warm), gets the same request object (cart with decimal
// string prices, user, codes) per call and must compute the cart facts from it (subtotal, category
// totals). The peers decide eligibility (codes, the VIP segment, cart and user conditions) and
// compute each eligible coupon's discount (percent of order with a cap, percent of lines in
// categories, fixed amount, free shipping) and their sum. They do less than edge-coupons, which
// also applies coupons in stacking order on what is left, caps at what remains, allocates order
// discounts across lines exactly, rounds to the minor unit, checks limits and explains rejections.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { signJws, testJwks, testSigningKey } from '../tests/node/helpers.mjs';
import { NOW, makeManifest, makeRequest } from './fixtures.mjs';
import { BUDGET_MS, OUT_DIR, failure, loadPackage, ms, stats, writeResult } from './lib.mjs';

const require = createRequire(import.meta.url);
const PROCESSES = Number(process.env.BENCH_PEERS_PROCESSES ?? 3);
if (process.argv[2] !== '--child') {
  const self = fileURLToPath(import.meta.url);
  const runs = [];
  fs.mkdirSync(OUT_DIR, { recursive: true });
  for (let i = 0; i < PROCESSES; i++) {
    const out = path.join(OUT_DIR, `peers-process-${i}.json`);
    execFileSync(process.execPath, [...process.execArgv, self, '--child', out], { stdio: 'inherit' });
    runs.push(JSON.parse(fs.readFileSync(out, 'utf8')));
    fs.rmSync(out);
  }
  const ratioOf = (run, name) => run.peers.find((x) => x.name === name)?.p50 / run.ours.p50;
  runs.sort((a, b) => ratioOf(a, 'json-rules-engine') - ratioOf(b, 'json-rules-engine'));
  const median = runs[Math.floor(runs.length / 2)];
  const names = median.peers.map((x) => x.name);
  median.notes.push(`${runs.length} processes; this is the one with the median json-rules-engine ratio. Each process's p50 ratios at 200 lines: ${
    names.map((n) => `${n} ${runs.map((r) => `${ratioOf(r, n).toFixed(2)}x`).join(', ')}`).join('; ')}.`);
  console.log(median.notes.at(-1));
  console.log(`results: ${writeResult('peers', median)}`);
  process.exit(0);
}
const COUPONS = 100;
const LINES_GRID = [10, 200, 1000];
const manifest = makeManifest(COUPONS);
const segment = { tier: 'gold', notCountry: 'XX' }; // manifest.segments.vip, as written in fixtures.mjs
const toCents = (s) => { const [a, b = ''] = s.split('.'); return Number(a) * 100 + Number((b + '00').slice(0, 2)); };

/** The rules of `manifest` in a neutral form both peers are generated from. */
const rules = manifest.coupons.map((c) => {
  const r = { id: c.id, code: c.codes.type === 'static' ? c.codes.code : null, vip: c.audience.type === 'segment' };
  if (c.conditions?.fact === 'cart.subtotal') r.minSubtotal = c.conditions.value;
  if (c.conditions?.fact === 'user.properties.country') r.countries = c.conditions.value;
  const w = c.reward;
  if (w.target.type === 'shipping') r.kind = 'shipping';
  else if (w.type === 'fixed_amount') { r.kind = 'fixed'; r.amount = w.amount; } else if (w.target.type === 'products') {
    r.kind = 'categories'; r.percent = Number(w.percent); r.categories = w.target.match.value;
  } else { r.kind = 'order'; r.percent = Number(w.percent); r.cap = w.max_discount; }
  return r;
});

// --- json-rules-engine: one rule per coupon; dynamic facts compute cart totals (cached per run) ---
async function jsonRulesEngine() {
  const { Engine } = require('json-rules-engine');
  const engine = new Engine([], { allowUndefinedFacts: true });
  engine.addFact('subtotalCents', (_p, almanac) => almanac.factValue('cart').then((cart) => cart.lines.reduce((s, l) => s + toCents(l.unit_price) * l.quantity, 0)));
  engine.addFact('categoryCents', (params, almanac) => almanac.factValue('cart').then((cart) => cart.lines
    .filter((l) => params.categories.includes(l.attributes?.category)).reduce((s, l) => s + toCents(l.unit_price) * l.quantity, 0)));
  for (const r of rules) {
    const all = [];
    if (r.code) all.push({ fact: 'codes', operator: 'contains', value: r.code });
    if (r.vip) {
      all.push({ fact: 'user', path: '$.properties.tier', operator: 'equal', value: segment.tier });
      all.push({ fact: 'user', path: '$.properties.country', operator: 'notEqual', value: segment.notCountry });
    }
    if (r.minSubtotal) all.push({ fact: 'subtotalCents', operator: 'greaterThanInclusive', value: toCents(r.minSubtotal) });
    if (r.countries) all.push({ fact: 'user', path: '$.properties.country', operator: 'in', value: r.countries });
    if (r.kind === 'categories') all.push({ fact: 'categoryCents', params: { categories: r.categories }, operator: 'greaterThan', value: 0 });
    if (!all.length) all.push({ fact: 'cart', path: '$.currency', operator: 'equal', value: manifest.currency });
    engine.addRule({ name: r.id, conditions: { all }, event: { type: 'coupon', params: r } });
  }
  return async (req) => {
    const { events, almanac } = await engine.run({ cart: req.cart, user: req.user, codes: req.codes ?? [] });
    let total = 0;
    const applied = [];
    for (const { params: r } of events) {
      let d;
      if (r.kind === 'shipping') d = toCents(req.cart.shipping?.amount ?? '0');
      else if (r.kind === 'fixed') d = Math.min(toCents(r.amount), await almanac.factValue('subtotalCents'));
      else if (r.kind === 'categories') d = Math.round((await almanac.factValue('categoryCents', { categories: r.categories }) * r.percent) / 100);
      else d = Math.min(Math.round((await almanac.factValue('subtotalCents') * r.percent) / 100), toCents(r.cap));
      applied.push(r.id);
      total += d;
    }
    return { applied, totalCents: total };
  };
}

// --- zen-engine: an expression node for the cart facts, a decision table (collect) with one row per
// coupon whose output expression computes the discount, then an expression summing them ---
async function zenEngine() {
  const { ZenEngine } = await import('@gorules/zen-engine');
  const str = (s) => `'${s}'`;
  const list = (xs) => `[${xs.map(str).join(', ')}]`;
  const rows = rules.map((r, i) => {
    let discount;
    if (r.kind === 'shipping') discount = 'number(cart.shipping.amount)';
    else if (r.kind === 'fixed') discount = `min([${r.amount}, subtotal])`;
    else if (r.kind === 'categories') {
      discount = `round(sum(map(filter(cart.lines, #.attributes.category in ${list(r.categories)}), number(#.unit_price) * #.quantity)) * ${r.percent}) / 100`;
    } else discount = `min([round(subtotal * ${r.percent}) / 100, ${r.cap}])`;
    const country = [r.vip ? `$ != ${str(segment.notCountry)}` : null, r.countries ? `$ in ${list(r.countries)}` : null].filter(Boolean).join(' and ');
    return {
      _id: `r${i}`,
      code: r.code ? `contains($, ${str(r.code)})` : '',
      tier: r.vip ? str(segment.tier) : '',
      country,
      subtotal: r.minSubtotal ? `>= ${r.minSubtotal}` : '',
      id: str(r.id),
      discount,
    };
  });
  const pos = { x: 0, y: 0 };
  const content = {
    nodes: [
      { id: 'in', type: 'inputNode', name: 'request', position: pos },
      { id: 'facts', type: 'expressionNode', name: 'facts', position: pos, content: { passThrough: true, inputField: null, outputPath: null, executionMode: 'single',
        expressions: [{ id: 'x1', key: 'subtotal', value: 'sum(map(cart.lines, number(#.unit_price) * #.quantity))' }] } },
      { id: 'coupons', type: 'decisionTableNode', name: 'coupons', position: pos, content: {
        hitPolicy: 'collect', passThrough: true, inputField: null, outputPath: 'applied', executionMode: 'single',
        inputs: [
          { id: 'code', name: 'code', field: 'codes' },
          { id: 'tier', name: 'tier', field: 'user.properties.tier' },
          { id: 'country', name: 'country', field: 'user.properties.country' },
          { id: 'subtotal', name: 'subtotal', field: 'subtotal' },
        ],
        outputs: [{ id: 'id', name: 'id', field: 'id' }, { id: 'discount', name: 'discount', field: 'discount' }],
        rules: rows,
      } },
      { id: 'sum', type: 'expressionNode', name: 'sum', position: pos, content: { passThrough: false, inputField: null, outputPath: null, executionMode: 'single',
        expressions: [{ id: 's1', key: 'total', value: 'sum(map(applied, #.discount))' }, { id: 's2', key: 'applied', value: 'map(applied, #.id)' }] } },
      { id: 'out', type: 'outputNode', name: 'out', position: pos },
    ],
    edges: [
      { id: 'e1', sourceId: 'in', targetId: 'facts', type: 'edge' },
      { id: 'e2', sourceId: 'facts', targetId: 'coupons', type: 'edge' },
      { id: 'e3', sourceId: 'coupons', targetId: 'sum', type: 'edge' },
      { id: 'e4', sourceId: 'sum', targetId: 'out', type: 'edge' },
    ],
  };
  const decision = new ZenEngine().createDecision(content);
  return async (req) => {
    const { result } = await decision.evaluate(req);
    return { applied: result.applied, totalCents: Math.round(Number(result.total) * 100) };
  };
}

/**
 * Times every engine in `fns` (each may return a promise) over the same stretch of time: ROUNDS
 * rounds, each giving every engine its share of `budgetMs` in turn, so a slower or busier spell
 * of the machine weighs on all of them alike and their ratio holds (timed one after the other, a
 * shared machine's drift moved the ratios by half). Under `node --expose-gc` each turn starts
 * after a full collection, so no engine pays for another's garbage. Stats per engine, from all
 * its samples.
 */
const ROUNDS = 10;
async function timeTogether(fns, budgetMs) {
  const calls = [];
  for (const fn of fns) {
    for (let i = 0; i < 3; i++) await fn();
    let once = Infinity;
    for (let i = 0; i < 3; i++) { const t0 = performance.now(); await fn(); once = Math.min(once, performance.now() - t0); }
    const n = Math.max(5, Math.min(2000, Math.floor(budgetMs / Math.max(once, 0.001))));
    for (let i = 0; i < Math.min(50, Math.ceil(n / 10)); i++) await fn();
    calls.push(Math.ceil(n / ROUNDS));
  }
  const samples = fns.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [k, fn] of fns.entries()) {
      globalThis.gc?.(); // each engine's turn starts on a clean heap, not with another's garbage
      for (let i = 0; i < calls[k]; i++) { const t0 = performance.now(); await fn(); samples[k].push(performance.now() - t0); }
    }
  }
  return samples.map(stats);
}

const { CouponEngine } = await loadPackage();
const ours = CouponEngine.fromSignedManifest(signJws(manifest, testSigningKey()), testJwks(), { now: NOW });
const peerDefs = [
  { name: 'json-rules-engine', version: require('json-rules-engine/package.json').version, make: jsonRulesEngine },
  { name: '@gorules/zen-engine', version: require('@gorules/zen-engine/package.json').version, make: zenEngine },
];
const peers = [];
for (const d of peerDefs) {
  try { peers.push({ ...d, run: await d.make() }); } catch (err) { peers.push({ ...d, error: failure(err) }); }
}

const result = {
  description: [
    `The same ${COUPONS} coupons (\`bench/fixtures.mjs\`) translated rule for rule by \`bench/peers.mjs\`; every engine is built`,
    'once and warm, gets the same request object per call and computes the cart facts from it. The peers decide eligibility',
    '(codes, the VIP segment, subtotal and country conditions, category targeting) and compute each eligible coupon\'s discount',
    'independently and their sum; edge-coupons also applies them in stacking order on what is left, allocates across lines',
    'exactly, rounds to the minor unit, checks limits and explains rejections, so the comparison flatters the peers. Both',
    'peers are asynchronous (their `run` / `evaluate` return promises), so their times include one promise round trip;',
    'ours is a synchronous call. Ratios are the peer\'s p50 over ours, from the same process and the same run, the engines',
    `timed in turn over ${ROUNDS} rounds so that the machine's drift weighs on each alike (with \`node --expose-gc\`, as`,
    `\`make bench\` runs it, each turn starts after a full garbage collection). ${PROCESSES} such processes; the one with the`,
    'median json-rules-engine ratio is reported (the notes give every process\'s ratios).',
  ].join('\n'),
  ours: { version: 'this commit' },
  peers: [],
  grid: [],
  notes: [],
};

// Agreement check: which coupons each found eligible, and the sum of independent discounts.
const req200 = makeRequest(200, COUPONS);
const evaluation = ours.evaluate(req200);
result.notes.push(`On 200 lines: edge-coupons applied ${evaluation.applied.length} coupons for a discount of ${evaluation.totals.discount} (stacked, on what is left).`);
for (const p of peers) {
  if (p.error) continue;
  try {
    const r = await p.run(req200);
    result.notes.push(`${p.name} found ${r.applied.length} coupons eligible, independent discounts summing to ${(r.totalCents / 100).toFixed(2)}.`);
  } catch (err) { p.error = failure(err); }
}

for (const lines of LINES_GRID) {
  const req = makeRequest(lines, COUPONS);
  const row = { lines };
  const budget = lines === 200 ? 2 * BUDGET_MS : BUDGET_MS;
  // The peers that ran the agreement check above (one that failed there is reported, not timed).
  const timed = peers.filter((p) => !p.error);
  const [o, ...s] = await timeTogether([() => ours.evaluate(req), ...timed.map((p) => () => p.run(req))], budget);
  row.ours = o.p50;
  if (lines === 200) Object.assign(result.ours, o);
  for (const [k, p] of timed.entries()) {
    row[p.name] = s[k].p50;
    if (lines === 200) result.peers.push({ name: p.name, version: p.version, ...s[k] });
  }
  result.grid.push(row);
  console.log(`${lines} lines: ours ${ms(row.ours)} ms; ${peers.map((p) => `${p.name} ${ms(row[p.name])} ms`).join('; ')}`);
}
for (const p of peers) if (p.error) result.peers.push({ name: p.name, version: p.version, error: p.error });
for (const n of result.notes) console.log(n);
fs.writeFileSync(process.argv[3], JSON.stringify(result));
