// The commit-time check, the same wherever counters live: re-run the engine on the exact request
// the edge priced, with the authoritative counters of one coupon, and accept only when that coupon
// still applies with the same code, discount and points.
import { call } from './engine.js';

export function recheck(loaded, a, own) {
  // A group's counter (`a.group`) checks the coupon against the group's counters instead.
  const { usage } = a.request;
  const request = {
    ...a.request,
    usage: a.group ? { ...usage, groups: { ...usage.groups, [a.group]: own } } : { ...usage, coupons: { ...usage.coupons, [a.coupon_id]: own } },
  };
  const evaluation = call(() => loaded.engine.evaluate(request));
  const applied = evaluation.applied.find((x) => x.coupon_id === a.coupon_id);
  const same = applied && applied.discount === a.expected.discount && applied.cashback_points === a.expected.cashback_points
    && applied.code === a.expected.code;
  if (same) return { applied };
  const rejected = evaluation.rejected.find((x) => x.coupon_id === a.coupon_id);
  return {
    rejected: rejected ?? {
      ...(a.expected.code ? { code: a.expected.code } : {}),
      coupon_id: a.coupon_id,
      // An automatic coupon that stops qualifying is left out silently by the engine, so there is
      // no engine reason to pass on: these two are the Worker's (docs/worker.md).
      reason: applied
        ? { code: 'DISCOUNT_CHANGED', message: 'the discount changed with the latest counters; price the cart again', discount: applied.discount }
        : { code: 'NO_LONGER_APPLIES', message: 'the coupon no longer applies with the latest counters; price the cart again' },
    },
  };
}
