#!/usr/bin/env node
// Signs a manifest payload into a compact JWS (EdDSA) for local development and tests.
// (A later Rust CLI in src/bin/ takes this over.)
//
//   node scripts/sign-manifest.mjs --key KEY.jwk.json [--kid KID] [--valid-days N] PAYLOAD.json > out.jws
//   node scripts/sign-manifest.mjs --generate-key KEY.jwk.json --jwks JWKS.json --kid KID
//
// --valid-days N rewrites issued_at to now and expires_at to now + N days before signing.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { generateKeyPair, signJws } from '../tests/node/helpers.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    key: { type: 'string' },
    kid: { type: 'string' },
    'valid-days': { type: 'string' },
    'generate-key': { type: 'string' },
    jwks: { type: 'string' },
  },
});
const fail = (msg) => {
  console.error(`sign-manifest: ${msg}`);
  process.exit(2);
};
const rfc3339 = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

if (values['generate-key']) {
  if (!values.jwks || !values.kid) fail('--generate-key needs --jwks FILE and --kid KID');
  const { privateJwk, publicJwk } = generateKeyPair(values.kid);
  fs.writeFileSync(values['generate-key'], `${JSON.stringify(privateJwk, null, 2)}\n`, { mode: 0o600 });
  fs.writeFileSync(values.jwks, `${JSON.stringify({ keys: [publicJwk] }, null, 2)}\n`);
  process.exit(0);
}

if (!values.key || positionals.length !== 1) fail('usage: --key KEY.jwk.json [--kid KID] [--valid-days N] PAYLOAD.json');
const jwk = JSON.parse(fs.readFileSync(values.key, 'utf8'));
let payload = fs.readFileSync(positionals[0], 'utf8');
if (values['valid-days'] !== undefined) {
  const days = Number(values['valid-days']);
  if (!Number.isInteger(days) || days <= 0) fail('--valid-days takes a positive whole number');
  const manifest = JSON.parse(payload);
  const now = Date.now();
  manifest.issued_at = rfc3339(now);
  manifest.expires_at = rfc3339(now + days * 86400e3);
  payload = JSON.stringify(manifest);
}
// Without --valid-days the payload's bytes are signed exactly as they are in the file.
process.stdout.write(`${signJws(payload, jwk, values.kid ?? jwk.kid)}\n`);
