// The dev loop (issue 18): under `make dev` (DEV_MODE = "true") a preview may set its clock with
// X-Dev-Now, so a shop tries a weekend-only coupon on a Thursday; a manifest signed with a key the
// Worker does not trust is refused with the kids it does trust. Without dev mode the header is
// refused (tests/worker/api.test.mjs).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { generateKeyPair, signJws } from '../node/helpers.mjs';
import { admin, call, cart, manifest, publish, rfc3339, start, START_TIMEOUT, STOP_TIMEOUT, TEST_TIMEOUT } from './helpers.mjs';

let server;
before(async () => {
  server = await start({ DEV_MODE: 'true' });
  // Weekends, all day, in UTC (no zone table needed); valid for eight days, so a Saturday and a
  // weekday are always within it.
  await publish(server, manifest([{
    id: 'weekend', name: 'Weekend deal', status: 'active', codes: { type: 'static', code: 'WEEKEND' },
    schedule: { time_zone: 'UTC', days: ['sat', 'sun'] },
    reward: { type: 'percentage', percent: '10', target: { type: 'order' } },
  }], { expires_at: rfc3339(Date.now() + 8 * 86400e3) }));
}, START_TIMEOUT);
after(() => server?.stop(), STOP_TIMEOUT);

const evaluate = (at) => call(server, 'POST', '/evaluate', { body: { cart: cart(), codes: ['WEEKEND'] }, headers: at ? { 'x-dev-now': at } : {} });

test('X-Dev-Now sets the preview clock in dev mode: a weekend coupon on a Saturday and a Thursday', TEST_TIMEOUT, async () => {
  const noon = (d) => `${d.toISOString().slice(0, 10)}T12:00:00Z`;
  const days = Array.from({ length: 7 }, (_, i) => new Date(Date.now() + (i + 1) * 86400e3));
  const saturday = noon(days.find((d) => d.getUTCDay() === 6));
  const thursday = noon(days.find((d) => d.getUTCDay() === 4));
  const sat = await evaluate(saturday);
  assert.equal(sat.status, 200, sat.text);
  assert.equal(sat.json.now, saturday);
  assert.deepEqual(sat.json.applied.map((a) => a.coupon_id), ['weekend']);
  const thu = await evaluate(thursday);
  assert.equal(thu.json.now, thursday);
  assert.equal(thu.json.rejected[0].reason.code, 'OUTSIDE_SCHEDULE');
  // The tray takes the same clock.
  const tray = await call(server, 'GET', '/coupons', { headers: { 'x-dev-now': saturday } });
  assert.equal(tray.status, 200, tray.text);
  const bad = await evaluate('next thursday');
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.code, 'INVALID_REQUEST');
});

test('an unknown kid is refused with the kids this Worker trusts', TEST_TIMEOUT, async () => {
  const stranger = generateKeyPair('someone-else');
  const res = await admin(server, 'PUT', '/admin/manifest', {
    body: signJws(manifest([]), stranger.privateJwk), headers: { 'content-type': 'application/jose' },
  });
  assert.equal(res.status, 422);
  assert.equal(res.json.error.code, 'MANIFEST_KEY_UNKNOWN');
  assert.deepEqual(res.json.error.trusted_kids, ['test-key-1']);
  assert.match(res.json.error.message, /trusts `test-key-1`/);
});
