// The Worker: routing only. Every decision about coupons is the engine's (src/, built into pkg/);
// the Durable Objects keep the counters it is checked against. docs/worker.md describes it all.
import { Router } from './router.js';
import { errorResponse } from './http.js';
import * as api from './api.js';
import * as admin from './admin.js';
import * as console_ from './console.js';
import { deleteSession, getSession, postSession } from './session.js';
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
  .add('POST', '/console/session', postSession)
  .add('GET', '/console/session', getSession)
  .add('DELETE', '/console/session', deleteSession)
  .add('PUT', '/admin/manifest', adminOnly(admin.putManifest))
  .add('POST', '/admin/manifest/sign', adminOnly(console_.signManifest))
  .add('POST', '/admin/manifest/check', adminOnly(console_.checkManifest))
  .add('GET', '/admin/manifests', adminOnly(console_.listVersions))
  .add('GET', '/admin/manifests/:version', adminOnly(console_.getVersion))
  .add('POST', '/admin/manifests/:version/restore', adminOnly(console_.restoreVersion))
  .add('GET', '/admin/stats', adminOnly(console_.statsOverview))
  .add('GET', '/admin/coupons', adminOnly(console_.listCoupons))
  .add('GET', '/admin/coupons/:coupon_id', adminOnly(console_.getCoupon))
  .add('PUT', '/admin/coupons/:coupon_id/status', adminOnly(admin.putStatus))
  .add('POST', '/admin/coupons/:coupon_id/codes', adminOnly(admin.postCodes))
  .add('POST', '/admin/coupons/:coupon_id/codes/generate', adminOnly(console_.generateCodes))
  .add('GET', '/admin/coupons/:coupon_id/pool', adminOnly(admin.getPool))
  .add('GET', '/admin/coupons/:coupon_id/uploads', adminOnly(admin.getUploads))
  .add('GET', '/admin/coupons/:coupon_id/counters', adminOnly(admin.getCounters))
  .add('GET', '/admin/coupons/:coupon_id/ledger', adminOnly(admin.getLedger))
  .add('GET', '/admin/groups/:group/counters', adminOnly(admin.getGroupCounters))
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
