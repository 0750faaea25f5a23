// The test helper itself (server.mjs): stopping ends every process of the group, even a workerd
// that does not answer SIGTERM, and a Worker that cannot start fails (twice) with its reasons
// instead of hanging. CI runs this suite on a fresh 2-core machine where leftovers pile up.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { START_TIMEOUT } from './helpers.mjs';
import { groupMembers as members, startWorker } from './server.mjs';

test('stop() ends the whole process group, SIGKILL for a workerd that ignores SIGTERM', { ...START_TIMEOUT, skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  const server = await startWorker({ config: 'tests/worker/vectors.wrangler.toml' });
  const pgid = server.child.pid;
  const workerd = members(pgid).filter((p) => p.name === 'workerd');
  assert.ok(workerd.length >= 1, `no workerd in the group: ${JSON.stringify(members(pgid))}`);
  for (const p of workerd) process.kill(p.pid, 'SIGSTOP'); // a stopped process acts on nothing but SIGKILL
  const t0 = Date.now();
  await server.stop();
  assert.deepEqual(members(pgid), [], 'every process of the group is gone');
  assert.ok(Date.now() - t0 < 15_000, `stop() took ${Date.now() - t0} ms`);
  assert.ok(!fs.existsSync(server.dir), 'its state folder is removed');
});

test('a Worker that cannot start fails with both reasons and leaves nothing running', START_TIMEOUT, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-coupons-broken-'));
  const config = path.join(dir, 'wrangler.toml');
  fs.writeFileSync(config, 'name = "broken"\nmain = "missing-worker.js"\ncompatibility_date = "2026-10-30"\n');
  try {
    await assert.rejects(startWorker({ config }), (err) => {
      assert.match(err.message, /did not start, twice/);
      assert.match(err.message, /first: [^]*second: /);
      return true;
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
