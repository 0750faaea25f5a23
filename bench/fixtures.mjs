// Realistic synthetic manifests and carts for the benchmarks (and any test that needs volume).
// Money is built from integer cents and formatted as decimal strings: no floats.

const CATEGORIES = ['shoes', 'shirts', 'hats', 'bags', 'socks', 'jackets', 'toys', 'books'];
export const NOW = '2026-11-23T12:00:00Z';
/** The benchmark grid: cart lines x active coupons. */
export const LINES = [1, 10, 50, 200, 1000];
export const COUPONS = [1, 10, 100, 1000];

const cents = (n) => `${Math.floor(n / 100)}.${String(n % 100).padStart(2, '0')}`;

/** The coupon at position `i` of a mixed manifest; five kinds in turn. */
function coupon(i) {
  const id = `C${String(i).padStart(4, '0')}`;
  const codes = i % 2 === 0 ? { type: 'static', code: `SAVE${i}` } : { type: 'automatic' };
  const base = { id, name: `Coupon ${i}`, status: 'active', codes, audience: { type: 'all' } };
  switch (i % 5) {
    case 0: // percentage off the order above a subtotal
      return {
        ...base,
        conditions: { fact: 'cart.subtotal', op: 'gte', value: cents(2000 + (i % 7) * 1000) },
        reward: { type: 'percentage', percent: String(5 + (i % 4) * 5), target: { type: 'order' }, max_discount: '50.00' },
      };
    case 1: // percentage off products of some categories
      return {
        ...base,
        reward: {
          type: 'percentage',
          percent: String(10 + (i % 3) * 5),
          target: {
            type: 'products',
            match: { fact: 'line.attributes.category', op: 'in', value: [CATEGORIES[i % 8], CATEGORIES[(i + 3) % 8]] },
          },
        },
      };
    case 2: // fixed amount off the order
      return { ...base, reward: { type: 'fixed_amount', amount: cents(300 + (i % 5) * 100), target: { type: 'order' } } };
    case 3: // free shipping
      return { ...base, reward: { type: 'percentage', percent: '100', target: { type: 'shipping' } } };
    default: // a segment's coupon with a user predicate and a per-user limit
      return {
        ...base,
        audience: { type: 'segment', segment: 'vip' },
        conditions: { fact: 'user.properties.country', op: 'in', value: ['US', 'CA'] },
        reward: { type: 'percentage', percent: '20', target: { type: 'order' }, max_discount: '30.00' },
        limits: { per_user: 1, global: 10000 },
      };
  }
}

/** A manifest payload with `n` coupons of mixed kinds. */
export function makeManifest(n, { now = NOW, id = `bench-${n}` } = {}) {
  const t = Date.parse(now);
  return {
    version: 1,
    id,
    issued_at: new Date(t - 86400e3).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    expires_at: new Date(t + 30 * 86400e3).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    currency: 'USD',
    segments: {
      vip: { all: [{ fact: 'user.properties.tier', op: 'eq', value: 'gold' }, { not: { fact: 'user.properties.country', op: 'eq', value: 'XX' } }] },
    },
    coupons: Array.from({ length: n }, (_, i) => coupon(i)),
  };
}

/** A cart with `n` lines across the categories, shipping and one fee. */
export function makeCart(n) {
  return {
    currency: 'USD',
    lines: Array.from({ length: n }, (_, i) => ({
      id: `l${i + 1}`,
      product_id: `sku-${i + 1}`,
      quantity: 1 + (i % 3),
      unit_price: cents(499 + ((i * 737) % 9500)),
      attributes: { category: CATEGORIES[i % CATEGORIES.length] },
    })),
    shipping: { amount: '5.00' },
    fees: [{ id: 'platform_fee', amount: '1.00' }],
  };
}

export const USER = {
  id: 'u1',
  properties: { country: 'US', tier: 'gold' },
  segments: [],
  events: [{ name: 'app_install', at: '2026-11-01T09:00:00Z' }],
  assignments: [],
};

/** The manifest of an instruction-count workload: the fixture's, with a stacking mode when one is
 * named (and at most 3 codes per cart, so best deal's sets differ). */
export function workloadManifest(coupons, stacking) {
  const m = makeManifest(coupons);
  if (stacking) m.settings = { stacking, max_codes_per_cart: 3 };
  return m;
}

/** An EvaluateRequest for `lines` lines, submitting a few of the manifest's static codes. */
export function makeRequest(lines, coupons, now = NOW) {
  const codes = [0, 2, 4, 6, 8].filter((i) => i < coupons).map((i) => `SAVE${i}`);
  return { cart: makeCart(lines), user: USER, codes, now };
}
