// Every error and reason code the Worker can answer with is documented in docs/errors.md, the one
// table of codes (CONTRACT §5): a code added in worker/src without a row fails here.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from './server.mjs';

// Quoted UPPER_SNAKE words in the Worker's source that are not codes.
const NOT_CODES = new Set(['DELETE', 'HEAD', 'POST', 'HMAC', 'MANIFEST_']);

test('docs/errors.md lists every code in worker/src', () => {
  const dir = path.join(ROOT, 'worker/src');
  const documented = new Set(
    [...fs.readFileSync(path.join(ROOT, 'docs/errors.md'), 'utf8').matchAll(/^\| `([A-Z][A-Z_]+)` \|/gm)].map((m) => m[1]),
  );
  const used = new Set();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.js'))) {
    for (const m of fs.readFileSync(path.join(dir, file), 'utf8').matchAll(/'([A-Z][A-Z_]{3,})'/g)) {
      if (!NOT_CODES.has(m[1])) used.add(m[1]);
    }
  }
  const missing = [...used].filter((c) => !documented.has(c));
  assert.deepEqual(missing, [], `codes used in worker/src without a row in docs/errors.md: ${missing.join(', ')}`);
});
