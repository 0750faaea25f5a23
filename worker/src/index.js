// The Worker: routing only. Every decision about coupons is the engine's (src/, built into pkg/);
// the Durable Objects keep the counters it is checked against. docs/worker.md describes it all.
import { Router } from './router.js';
import { errorResponse } from './http.js';
import * as api from './api.js';
import * as admin from './admin.js';
import { postEvent } from './events.js';

export { CouponCounter } from './counter-do.js';
export { RedemptionRecord } from './redemption-do.js';
export { AttemptLimiter } from './attempts.js';
export { UserLog } from './user-log-do.js';

const adminOnly = (handler) => async (request, env, params) => {
  await admin.requireAdmin(request, env);
  return handler(request, env, params);
};

const router = new Router()
  .add('GET', '/manifest', api.getManifest)
  .add('GET', '/jwks', api.getJwks)
  .add('GET', '/coupons', api.getTray)
  .add('GET', '/users/:user_id/context', api.getUserContext)
  .add('POST', '/evaluate', api.postEvaluate)
  .add('POST', '/redemptions', api.postRedemption)
  .add('GET', '/redemptions/:id', api.getRedemption)
  .add('POST', '/redemptions/:id/confirm', api.confirmRedemption)
  .add('POST', '/redemptions/:id/revert', api.revertRedemption)
  .add('GET', '/stats/:coupon_id', api.getStats)
  .add('POST', '/events', postEvent)
  .add('PUT', '/admin/manifest', adminOnly(admin.putManifest))
  .add('PUT', '/admin/coupons/:coupon_id/status', adminOnly(admin.putStatus))
  .add('POST', '/admin/coupons/:coupon_id/codes', adminOnly(admin.postCodes))
  .add('GET', '/admin/coupons/:coupon_id/pool', adminOnly(admin.getPool))
  .add('GET', '/admin/coupons/:coupon_id/counters', adminOnly(admin.getCounters))
  .add('GET', '/admin/coupons/:coupon_id/ledger', adminOnly(admin.getLedger))
  .add('POST', '/admin/assignments', adminOnly(admin.postAssignments))
  .add('POST', '/admin/users', adminOnly(admin.postUsers))
  .add('PUT', '/admin/users/:user_id', adminOnly(admin.putUser))
  .add('GET', '/admin/users/:user_id', adminOnly(admin.getUser))
  .add('DELETE', '/admin/users/:user_id', adminOnly(admin.deleteUser));

export default {
  async fetch(request, env) {
    try {
      const { pathname } = new URL(request.url);
      const { handler, params } = router.match(request.method, pathname);
      return await handler(request, env, params);
    } catch (err) {
      // A manifest submitted to the admin API that fails is the caller's (422, set where thrown);
      // anything else about manifests here is the served one failing (503).
      return errorResponse(err);
    }
  },
};
