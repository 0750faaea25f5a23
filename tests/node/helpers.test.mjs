// The shared test helpers themselves, where they have failed before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import { generateKeyPair, signJws } from './helpers.mjs';

test('generateKeyPair: JWKs that sign and verify, with the kid', () => {
  const { privateJwk, publicJwk } = generateKeyPair('k1');
  assert.deepEqual(Object.keys(privateJwk).sort(), ['alg', 'crv', 'd', 'kid', 'kty', 'use', 'x']);
  assert.deepEqual(Object.keys(publicJwk).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x']);
  assert.equal(publicJwk.kid, 'k1');
  const [header, body, sig] = signJws({ a: 1 }, privateJwk).split('.');
  const key = crypto.createPublicKey({ key: publicJwk, format: 'jwk' });
  assert.ok(crypto.verify(null, Buffer.from(`${header}.${body}`), key, Buffer.from(sig, 'base64url')));
});

// Node 20 can deadlock in KeyObject.export({ format: 'jwk' }) when a garbage collection frees a
// finished key job meanwhile (helpers.mjs): the old helper hung within about 5,000 calls with this
// much garbage. In a child process, so a hang fails this test instead of stopping the runner.
test('generateKeyPair: 20,000 keys under garbage collection, in a child that must finish', { timeout: 90_000 }, async () => {
  const script = `
    const { generateKeyPair } = await import(${JSON.stringify(new URL('./helpers.mjs', import.meta.url).href)});
    let junk = [];
    for (let i = 0; i < 20000; i++) {
      generateKeyPair('k');
      junk.push('x'.repeat(100));
      if (junk.length > 1000) junk = [];
    }
    console.log('done');`;
  const out = await new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000, killSignal: 'SIGKILL' }, (err, stdout) =>
      (err ? reject(new Error(`the child did not finish: ${err.killed ? 'hung, killed after 60 s' : err.message}`)) : resolve(stdout)));
  });
  assert.equal(out.trim(), 'done');
});
