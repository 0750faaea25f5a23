#!/usr/bin/env node
// Load benchmark of the Worker in local workerd (`wrangler dev`, KV and Durable Objects persisted in
// /dev/shm): requests/s and latency p50 / p99 for POST /evaluate and POST /redemptions, measured with
// autocannon from the host. The numbers include wrangler's local proxy; they are a regression gauge
// for this machine, not a prediction of Cloudflare's network.
//
//   node bench/worker.mjs                     # 10 s per route, 10 connections (evaluate, redemptions, events)
//   BENCH_WORKER_SECONDS=5 BENCH_WORKER_CONNECTIONS=32 node bench/worker.mjs
//
// Writes target/bench/worker.json (BENCH_OUT) and prints one line per route.
import autocannon from 'autocannon';
import { writeResult } from './lib.mjs';
import { signJws, testJwks } from '../tests/node/helpers.mjs';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, startWorker } from '../tests/worker/server.mjs';

const rfc3339 = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const demoManifestFor = (now) => ({
  ...JSON.parse(fs.readFileSync(path.join(ROOT, 'docs/examples/demo-manifest.json'), 'utf8')),
  issued_at: rfc3339(now - 3600e3), expires_at: rfc3339(now + 86400e3),
});

const SECONDS = Number(process.env.BENCH_WORKER_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_WORKER_CONNECTIONS ?? 10);
const ADMIN_TOKEN = 'bench-admin-token';

// The demo shop's cart: three lines, shipping and a fee; two codes and two automatic coupons apply.
const CART = {
  currency: 'USD',
  lines: [
    { id: 'l1', product_id: 'runner-42', quantity: 1, unit_price: '89.99', attributes: { category: 'shoes' } },
    { id: 'l2', product_id: 'tee-white-m', quantity: 2, unit_price: '19.50', attributes: { category: 'shirts' } },
    { id: 'l3', product_id: 'cap-navy', quantity: 1, unit_price: '14.00', attributes: { category: 'accessories' } },
  ],
  shipping: { amount: '7.95', method: 'standard' },
  fees: [{ id: 'service_fee', amount: '2.00', name: 'Service fee' }],
};

function run(opts) {
  return new Promise((resolve, reject) => {
    autocannon({ duration: SECONDS, connections: CONNECTIONS, ...opts }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

const summary = (name, r) => ({
  route: name,
  requests_per_s: Math.round(r.requests.average),
  p50_ms: r.latency.p50,
  p99_ms: r.latency.p99,
  requests: r.requests.total,
  non_2xx: r.non2xx,
  errors: r.errors,
  timeouts: r.timeouts,
});

const server = await startWorker({ vars: { MANIFEST_JWKS: testJwks(), ADMIN_TOKEN, ATTEMPT_LIMIT: '1000000' } });
try {
  const pub = await fetch(`${server.url}/admin/manifest`, {
    method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/jose' },
    body: signJws(demoManifestFor(Date.now())), signal: AbortSignal.timeout(20_000),
  });
  if (pub.status !== 201) throw new Error(`publish: ${pub.status} ${await pub.text()}`);
  // The Worker prices with stored profiles only (a request's user properties are ignored): a gold
  // member, so the member coupons are part of the work measured.
  const profile = await fetch(`${server.url}/admin/users/bench-user`, {
    method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ properties: { tier: 'gold', orders_count: 3 } }), signal: AbortSignal.timeout(20_000),
  });
  if (profile.status !== 200) throw new Error(`profile: ${profile.status} ${await profile.text()}`);

  // The floor: a route that does no work, so what is left is wrangler's local proxy and workerd.
  const floor = await run({ url: `${server.url}/jwks` });
  const failures = [];
  // Failures are printed (a few), so a non-2xx count comes with its reason.
  const onResponse = (route) => (status, body) => {
    if (status >= 300 && failures.length < 5) failures.push(`${route} ${status} ${String(body).slice(0, 300)}`);
  };
  const evaluate = await run({
    url: `${server.url}/evaluate`,
    requests: [{
      // As the shop's backend (its server credential names the user; docs/worker.md, who may do what).
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${server.redeemToken}` }, onResponse: onResponse('POST /evaluate'),
      body: JSON.stringify({ cart: CART, codes: ['SHOES15', 'SHIRTS20'], user: { id: 'bench-user' } }),
    }],
  });
  let n = 0;
  const redemptions = await run({
    url: `${server.url}/redemptions`, method: 'POST',
    requests: [{
      // Every request a new order: its own Idempotency-Key and user (SHOES15 has a global limit of 10,000).
      setupRequest: (req) => {
        n += 1;
        return {
          ...req,
          headers: { 'content-type': 'application/json', 'idempotency-key': `bench-${process.pid}-${n}`, authorization: `Bearer ${server.redeemToken}` },
          body: JSON.stringify({ order_id: `bench-${n}`, cart: CART, codes: ['SHOES15'], user: { id: `bench-user-${n}` } }),
        };
      },
      onResponse: onResponse('POST /redemptions'),
    }],
  });
  // Campaign events: every request a new user abandoning a cart of 55.00, so the demo's comeback-15
  // is given with a code from its pool (the user's log, the engine's decision, the counter's pool).
  const admin = (route, body, type) => fetch(`${server.url}${route}`, {
    method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': type }, body, signal: AbortSignal.timeout(20_000),
  });
  const ABC = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
  for (let batch = 0; batch < 8; batch++) { // 4,000 codes: more than 10 s of events use
    const codes = Array.from({ length: 500 }, (_, i) => {
      let x = batch * 500 + i;
      let body = '';
      for (let k = 0; k < 8; k++, x = Math.floor(x / 32)) body += ABC[x % 32];
      return `BACK${body}`;
    });
    const up = await admin('/admin/coupons/comeback-15/codes?pool=true', `code\n${codes.join('\n')}\n`, 'text/csv');
    if (up.status !== 201) throw new Error(`pool: ${up.status} ${await up.text()}`);
  }
  let e = 0;
  const events = await run({
    url: `${server.url}/events`, method: 'POST',
    requests: [{
      setupRequest: (req) => {
        e += 1;
        return {
          ...req,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
          body: JSON.stringify({ id: `abandon-${e}`, user_id: `bench-shopper-${e}`, name: 'cart_abandoned', properties: { cart_value: '55.00' } }),
        };
      },
      onResponse: onResponse('POST /events'),
    }],
  });
  const results = [
    summary('GET /jwks (floor)', floor), summary('POST /evaluate', evaluate), summary('POST /redemptions', redemptions), summary('POST /events', events),
  ];
  for (const r of results) {
    console.log(`${r.route.padEnd(20)} ${String(r.requests_per_s).padStart(6)} req/s  p50 ${r.p50_ms} ms  p99 ${r.p99_ms} ms  (${r.requests} requests, ${r.non_2xx} non-2xx, ${r.errors} errors)`);
  }
  for (const f of failures) console.log(`non-2xx: ${f}`);
  const file = writeResult('worker', { seconds: SECONDS, connections: CONNECTIONS, results });
  console.log(`wrote ${file}`);
  if (results.some((r) => r.non_2xx || r.errors)) process.exitCode = 1; // a benchmark of failures measures nothing
} finally {
  await server.stop();
}
