// Interop with a standard JOSE library (npm `jose`), both directions: a manifest jose signs is
// accepted by the engine (pkg/), and manifests couponctl signs verify in jose. couponctl runs
// through cargo (built by the native suite before this one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CompactSign, compactVerify, createLocalJWKSet, importJWK } from 'jose';
import { loadPackage, testJwks, testSigningKey, ROOT } from './helpers.mjs';

const { CouponEngine } = await loadPackage();

const NOW = '2026-01-15T12:00:00Z';
const payload = {
  version: 1,
  id: 'jose-interop',
  issued_at: '2026-01-01T00:00:00Z',
  expires_at: '2026-02-01T00:00:00Z',
  currency: 'USD',
  coupons: [
    {
      id: 'save-10',
      name: '10% off',
      status: 'active',
      codes: { type: 'static', code: 'SAVE10' },
      reward: { type: 'percentage', percent: '10', target: { type: 'order' } },
    },
  ],
};
const cart = {
  currency: 'USD',
  lines: [{ id: 'a', product_id: 'tee', quantity: 1, unit_price: '10.00' }],
};

const couponctl = (...args) =>
  execFileSync('cargo', ['run', '--quiet', '--features', 'cli', '--bin', 'couponctl', '--', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 300_000, // a build at most (make test built it already); a hang would stop every timer
  });

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'jose-interop-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

test('a manifest signed by jose loads in the engine', async () => {
  const jwk = testSigningKey();
  const key = await importJWK(jwk, 'EdDSA');
  const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'EdDSA', kid: jwk.kid })
    .sign(key);
  const engine = CouponEngine.fromSignedManifest(jws, testJwks(), { now: NOW });
  assert.equal(engine.manifestId, 'jose-interop');
  const result = engine.evaluate({ now: NOW, codes: ['save-10'], cart });
  assert.equal(result.totals.discount, '1.00');
  // The same JWS with one changed payload byte is refused.
  const [h, p, s] = jws.split('.');
  const changed = `${h}.${p.slice(0, 10)}${p[10] === 'A' ? 'B' : 'A'}${p.slice(11)}.${s}`;
  assert.throws(
    () => CouponEngine.fromSignedManifest(changed, testJwks(), { now: NOW }),
    (e) => e.code === 'MANIFEST_SIGNATURE_INVALID' || e.code === 'MANIFEST_MALFORMED',
  );
});

test('manifests couponctl signs verify in jose, with the test key and with a fresh keygen key', async () => {
  const manifest = path.join(tmp, 'manifest.json');
  fs.writeFileSync(manifest, JSON.stringify(payload));
  const withTestKey = couponctl('sign', '--key', 'tests/keys/test-signing-key.jwk.json', '--now', NOW, manifest).trim();
  const { payload: bytes, protectedHeader } = await compactVerify(withTestKey, createLocalJWKSet(testJwks()));
  assert.deepEqual(protectedHeader, { alg: 'EdDSA', kid: 'test-key-1' });
  assert.deepEqual(JSON.parse(new TextDecoder().decode(bytes)), payload);

  // A key made by keygen, its JWKS holding two keys (rotation): jose picks the key by kid.
  const jwks = path.join(tmp, 'jwks.json');
  couponctl('keygen', '--kid', 'old', '--out', path.join(tmp, 'old.jwk'), '--jwks', jwks);
  couponctl('keygen', '--kid', 'new', '--out', path.join(tmp, 'new.jwk'), '--jwks', jwks);
  const withNewKey = couponctl('sign', '--key', path.join(tmp, 'new.jwk'), '--now', NOW, manifest).trim();
  const set = createLocalJWKSet(JSON.parse(fs.readFileSync(jwks, 'utf8')));
  const verified = await compactVerify(withNewKey, set);
  assert.equal(verified.protectedHeader.kid, 'new');
  // jose refuses it under the test key set, as the engine does.
  await assert.rejects(compactVerify(withNewKey, createLocalJWKSet(testJwks())));
});

test('the committed signed vectors agree with jose', async () => {
  const expected = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests/signed/expected.json'), 'utf8'));
  const set = createLocalJWKSet(testJwks());
  for (const v of expected.vectors) {
    const jws = fs.readFileSync(path.join(ROOT, 'tests/signed', v.file), 'utf8').trim();
    const signatureHolds = await compactVerify(jws, set).then(
      () => true,
      () => false,
    );
    // Expiry is the engine's rule, not JOSE's: those vectors carry good signatures.
    const shouldHold = v.expect.ok === true || ['MANIFEST_EXPIRED', 'MANIFEST_NOT_YET_VALID'].includes(v.expect.error);
    assert.equal(signatureHolds, shouldHold, v.file);
    let code = 'ok';
    try {
      CouponEngine.fromSignedManifest(jws, testJwks(), { now: expected.now });
    } catch (e) {
      code = e.code;
    }
    assert.equal(code, v.expect.error ?? 'ok', v.file);
  }
});
