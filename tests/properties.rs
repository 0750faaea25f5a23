//! Property tests for the money invariants of CONTRACT §6: random carts (USD, JPY, KWD) against random
//! manifests drawn from realistic coupons (percentage and fixed on the order, on products matching an
//! attribute, on shipping and on a fee, cashback, `max_discount` caps, product + order + shipping
//! stacking). Every amount is checked with exact decimals (`Decimal::from_str_exact`), never floats.
#![cfg(not(target_arch = "wasm32"))] // proptest is a native-only dev-dependency
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use edge_coupons::money::{allocate, Currency};
use edge_coupons::{Engine, Limits};
use proptest::prelude::*;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const NOW: &str = "2026-11-23T12:00:00Z";
const CURRENCIES: [(&str, u32); 3] = [("USD", 2), ("JPY", 0), ("KWD", 3)];
const CATEGORIES: [&str; 4] = ["shoes", "shirts", "hats", "books"];
const FEES: [&str; 3] = ["platform_fee", "service_fee", "gift_wrap"];
const PERCENTS: [&str; 12] = [
    "0.5", "1", "5", "10", "12.5", "15", "20", "25", "33.3333", "50", "99.99", "100",
];

// ---------------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------------

/// An amount of `units` minor units, written with exactly `mu` digits after the point.
fn money(units: u64, mu: u32) -> String {
    let mut d = Decimal::from(units);
    d.set_scale(mu).unwrap();
    d.to_string()
}

#[derive(Debug, Clone)]
struct Line {
    id: String,
    product: u16,
    quantity: u32,
    /// Minor units; reduced modulo the currency's range when written.
    price: u64,
    category: Option<usize>,
}

#[derive(Debug, Clone)]
struct Cart {
    currency: usize,
    lines: Vec<Line>,
    shipping: Option<u64>,
    fees: Vec<(usize, u64)>,
}

impl Cart {
    fn mu(&self) -> u32 {
        CURRENCIES[self.currency].1
    }

    /// Prices 0 to 999 major units and all the currency's minor digits (USD 0.00-999.99).
    fn price(&self, raw: u64) -> String {
        money(raw % (1000 * 10u64.pow(self.mu())), self.mu())
    }

    fn small(&self, raw: u64) -> String {
        money(raw % (50 * 10u64.pow(self.mu())), self.mu())
    }

    fn to_json(&self) -> Value {
        let lines: Vec<Value> = self
            .lines
            .iter()
            .map(|l| {
                let mut v = json!({
                    "id": l.id,
                    "product_id": format!("p{}", l.product),
                    "quantity": l.quantity,
                    "unit_price": self.price(l.price),
                });
                if let Some(c) = l.category {
                    v["attributes"] = json!({ "category": CATEGORIES[c] });
                }
                v
            })
            .collect();
        let mut cart = json!({ "currency": CURRENCIES[self.currency].0, "lines": lines });
        if let Some(s) = self.shipping {
            cart["shipping"] = json!({ "amount": self.small(s), "method": "standard" });
        }
        if !self.fees.is_empty() {
            cart["fees"] = self
                .fees
                .iter()
                .map(|(f, a)| json!({ "id": FEES[*f], "amount": self.small(*a) }))
                .collect();
        }
        cart
    }
}

fn line() -> impl Strategy<Value = Line> {
    (
        "[a-zA-Z0-9]{1,6}",
        0u16..50,
        1u32..=20,
        any::<u64>(),
        prop::option::weighted(0.8, 0usize..CATEGORIES.len()),
    )
        .prop_map(|(id, product, quantity, price, category)| Line {
            id,
            product,
            quantity,
            price,
            category,
        })
}

fn cart() -> impl Strategy<Value = Cart> {
    (
        0usize..CURRENCIES.len(),
        prop::collection::vec(line(), 1..=30),
        prop::option::weighted(0.6, any::<u64>()),
        prop::collection::btree_map(0usize..FEES.len(), any::<u64>(), 0..=FEES.len()),
    )
        .prop_map(|(currency, mut lines, shipping, fees)| {
            let mut seen = std::collections::HashSet::new();
            lines.retain(|l| seen.insert(l.id.clone()));
            Cart {
                currency,
                lines,
                shipping,
                fees: fees.into_iter().collect(),
            }
        })
}

/// The reward kinds the manifests are drawn from. Amounts are raw minor units, reduced when
/// written so that they are more than zero.
#[derive(Debug, Clone)]
enum Reward {
    PercentOrder {
        pct: usize,
        cap: Option<u64>,
    },
    FixedOrder {
        amount: u64,
    },
    PercentProducts {
        cats: Vec<usize>,
        pct: usize,
        cap: Option<u64>,
    },
    FixedProducts {
        cats: Vec<usize>,
        amount: u64,
    },
    PercentShipping {
        pct: usize,
    },
    FixedShipping {
        amount: u64,
    },
    PercentFee {
        fee: usize,
        pct: usize,
    },
    FixedFee {
        fee: usize,
        amount: u64,
    },
    CashbackPercent {
        pct: usize,
        max_points: Option<u64>,
    },
    CashbackAmount {
        amount: u64,
    },
    CashbackPoints {
        points: u64,
    },
    /// Buy `buy` units of `cats`, get `get` units (of `get_cats`, or the same) at `pct` off.
    BuyGet {
        cats: Vec<usize>,
        get_cats: Option<Vec<usize>>,
        buy: u64,
        get: u64,
        pct: usize,
        max: Option<u64>,
    },
    /// Spend tiers on the order: (min in raw units, percent), going up.
    Tiered {
        by_quantity: bool,
        tiers: Vec<(u64, usize)>,
    },
    /// `quantity` units of `cats` for `price`.
    FixedPrice {
        cats: Vec<usize>,
        quantity: u64,
        price: u64,
        max: Option<u64>,
    },
    /// A percentage on the cheapest (or dearest) `max` units, or a fixed amount off each.
    Select {
        cats: Vec<usize>,
        cheapest: bool,
        max: Option<u64>,
        pct: usize,
        each: Option<u64>,
    },
}

impl Reward {
    /// The categories whose lines this reward may lower.
    fn product_cats(&self) -> Option<&Vec<usize>> {
        match self {
            Reward::PercentProducts { cats, .. }
            | Reward::FixedProducts { cats, .. }
            | Reward::FixedPrice { cats, .. }
            | Reward::Select { cats, .. } => Some(cats),
            Reward::BuyGet { cats, get_cats, .. } => Some(get_cats.as_ref().unwrap_or(cats)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
struct CouponSpec {
    automatic: bool,
    priority: i32,
    reward: Reward,
}

fn reward() -> impl Strategy<Value = Reward> {
    let pct = 0usize..PERCENTS.len();
    let cap = prop::option::weighted(0.4, any::<u64>());
    let cats = prop::collection::btree_set(0usize..CATEGORIES.len(), 1..=2)
        .prop_map(|s| s.into_iter().collect::<Vec<_>>());
    prop_oneof![
        3 => (pct.clone(), cap.clone()).prop_map(|(pct, cap)| Reward::PercentOrder { pct, cap }),
        2 => any::<u64>().prop_map(|amount| Reward::FixedOrder { amount }),
        3 => (cats.clone(), pct.clone(), cap)
            .prop_map(|(cats, pct, cap)| Reward::PercentProducts { cats, pct, cap }),
        2 => (cats.clone(), any::<u64>()).prop_map(|(cats, amount)| Reward::FixedProducts { cats, amount }),
        2 => pct.clone().prop_map(|pct| Reward::PercentShipping { pct }),
        1 => any::<u64>().prop_map(|amount| Reward::FixedShipping { amount }),
        1 => (0usize..FEES.len(), pct.clone()).prop_map(|(fee, pct)| Reward::PercentFee { fee, pct }),
        1 => (0usize..FEES.len(), any::<u64>()).prop_map(|(fee, amount)| Reward::FixedFee { fee, amount }),
        1 => (pct.clone(), prop::option::of(1u64..500))
            .prop_map(|(pct, max_points)| Reward::CashbackPercent { pct, max_points }),
        1 => any::<u64>().prop_map(|amount| Reward::CashbackAmount { amount }),
        1 => (1u64..1000).prop_map(|points| Reward::CashbackPoints { points }),
        2 => (cats.clone(), prop::option::of(cats.clone()), 1u64..4, 1u64..3, pct.clone(), prop::option::of(1u64..4))
            .prop_map(|(cats, get_cats, buy, get, pct, max)| Reward::BuyGet { cats, get_cats, buy, get, pct, max }),
        2 => (any::<bool>(), prop::collection::btree_map(1u64..60, pct.clone(), 1..4))
            .prop_map(|(by_quantity, tiers)| Reward::Tiered { by_quantity, tiers: tiers.into_iter().collect() }),
        2 => (cats.clone(), 2u64..5, any::<u64>(), prop::option::of(1u64..3))
            .prop_map(|(cats, quantity, price, max)| Reward::FixedPrice { cats, quantity, price, max }),
        2 => (cats, any::<bool>(), prop::option::of(1u64..5), pct, prop::option::weighted(0.4, any::<u64>()))
            .prop_map(|(cats, cheapest, max, pct, each)| Reward::Select { cats, cheapest, max, pct, each }),
    ]
}

fn coupons() -> impl Strategy<Value = Vec<CouponSpec>> {
    prop::collection::vec(
        (prop::bool::weighted(0.3), -3i32..=3, reward()).prop_map(
            |(automatic, priority, reward)| CouponSpec {
                automatic,
                priority,
                reward,
            },
        ),
        1..=8,
    )
}

/// An amount more than zero, up to 200 major units.
fn positive(raw: u64, mu: u32) -> String {
    money(1 + raw % (200 * 10u64.pow(mu)), mu)
}

fn coupon_id(i: usize) -> String {
    format!("K{i}")
}

fn code(i: usize) -> String {
    format!("CODE{i}")
}

fn manifest(currency: usize, specs: &[CouponSpec], max_codes: Option<u32>) -> Value {
    let mu = CURRENCIES[currency].1;
    let products = |cats: &[usize]| {
        if let [one] = cats {
            json!({ "fact": "line.attributes.category", "op": "eq", "value": CATEGORIES[*one] })
        } else {
            let names: Vec<&str> = cats.iter().map(|c| CATEGORIES[*c]).collect();
            json!({ "fact": "line.attributes.category", "op": "in", "value": names })
        }
    };
    let coupons: Vec<Value> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut reward = match &s.reward {
                Reward::PercentOrder { pct, .. } => json!({
                    "type": "percentage", "percent": PERCENTS[*pct], "target": { "type": "order" }
                }),
                Reward::FixedOrder { amount } => json!({
                    "type": "fixed_amount", "amount": positive(*amount, mu), "target": { "type": "order" }
                }),
                Reward::PercentProducts { cats, pct, .. } => json!({
                    "type": "percentage", "percent": PERCENTS[*pct],
                    "target": { "type": "products", "match": products(cats) }
                }),
                Reward::FixedProducts { cats, amount } => json!({
                    "type": "fixed_amount", "amount": positive(*amount, mu),
                    "target": { "type": "products", "match": products(cats) }
                }),
                Reward::PercentShipping { pct } => json!({
                    "type": "percentage", "percent": PERCENTS[*pct], "target": { "type": "shipping" }
                }),
                Reward::FixedShipping { amount } => json!({
                    "type": "fixed_amount", "amount": positive(*amount, mu), "target": { "type": "shipping" }
                }),
                Reward::PercentFee { fee, pct } => json!({
                    "type": "percentage", "percent": PERCENTS[*pct],
                    "target": { "type": "fee", "fee": FEES[*fee] }
                }),
                Reward::FixedFee { fee, amount } => json!({
                    "type": "fixed_amount", "amount": positive(*amount, mu),
                    "target": { "type": "fee", "fee": FEES[*fee] }
                }),
                Reward::CashbackPercent { pct, max_points } => {
                    let mut r = json!({
                        "type": "cashback", "percent": PERCENTS[*pct], "points_per_unit": "10"
                    });
                    if let Some(m) = max_points {
                        r["max_points"] = json!(m);
                    }
                    r
                }
                Reward::CashbackAmount { amount } => json!({
                    "type": "cashback", "amount": positive(*amount, mu), "target": { "type": "order" }
                }),
                Reward::CashbackPoints { points } => json!({ "type": "cashback", "points": points }),
                Reward::BuyGet { cats, get_cats, buy, get, pct, max } => {
                    let mut r = json!({
                        "type": "buy_x_get_y", "percent": PERCENTS[*pct],
                        "buy": { "match": products(cats), "quantity": buy },
                        "get": { "quantity": get }
                    });
                    if let Some(g) = get_cats {
                        r["get"]["match"] = products(g);
                    }
                    if let Some(m) = max {
                        r["max_applications"] = json!(m);
                    }
                    r
                }
                Reward::Tiered { by_quantity, tiers } => {
                    let tiers: Vec<Value> = tiers
                        .iter()
                        .map(|(min, p)| {
                            let min = if *by_quantity {
                                json!(min)
                            } else {
                                json!(money(min * 5 * 10u64.pow(mu), mu))
                            };
                            json!({ "min": min, "percent": PERCENTS[*p] })
                        })
                        .collect();
                    json!({
                        "type": "tiered", "basis": if *by_quantity { "quantity" } else { "amount" },
                        "tiers": tiers, "target": { "type": "order" }
                    })
                }
                Reward::FixedPrice { cats, quantity, price, max } => {
                    let mut r = json!({
                        "type": "fixed_price", "price": positive(*price, mu), "quantity": quantity,
                        "target": { "type": "products", "match": products(cats) }
                    });
                    if let Some(m) = max {
                        r["max_applications"] = json!(m);
                    }
                    r
                }
                Reward::Select { cats, cheapest, max, pct, each } => {
                    let mut target = json!({
                        "type": "products", "match": products(cats),
                        "select": if *cheapest { "cheapest" } else { "most_expensive" }
                    });
                    if let Some(m) = max {
                        target["max_quantity"] = json!(m);
                    }
                    match each {
                        Some(a) => json!({
                            "type": "fixed_amount", "amount": positive(*a, mu),
                            "allocation": "each", "target": target
                        }),
                        None => json!({ "type": "percentage", "percent": PERCENTS[*pct], "target": target }),
                    }
                }
            };
            if let Reward::PercentOrder { cap: Some(c), .. }
            | Reward::PercentProducts { cap: Some(c), .. } = &s.reward
            {
                reward["max_discount"] = json!(positive(*c, mu));
            }
            let codes = if s.automatic {
                json!({ "type": "automatic" })
            } else {
                json!({ "type": "static", "code": code(i) })
            };
            json!({
                "id": coupon_id(i),
                "name": format!("Coupon {i}"),
                "status": "active",
                "codes": codes,
                "priority": s.priority,
                "reward": reward,
            })
        })
        .collect();
    let mut m = json!({
        "version": 1,
        "id": "props",
        "issued_at": "2026-11-01T00:00:00Z",
        "expires_at": "2026-12-31T00:00:00Z",
        "currency": CURRENCIES[currency].0,
        "coupons": coupons,
    });
    if let Some(n) = max_codes {
        m["settings"] = json!({ "max_codes_per_cart": n });
    }
    m
}

/// Typed codes: some of the manifest's codes in various spellings, repeats, and unknown ones.
fn typed_codes(n_coupons: usize, picks: &[(usize, u8)]) -> Vec<String> {
    picks
        .iter()
        .map(|&(i, form)| {
            let c = if i >= n_coupons {
                format!("NOPE{i}")
            } else {
                code(i)
            };
            match form % 4 {
                0 => c,
                1 => c.to_lowercase(),
                2 => format!("{}-{}", &c[..2], &c[2..]),
                _ => format!(" {} ", c.to_lowercase()),
            }
        })
        .collect()
}

#[derive(Debug, Clone)]
struct Case {
    cart: Cart,
    specs: Vec<CouponSpec>,
    max_codes: Option<u32>,
    codes: Vec<String>,
}

impl Case {
    fn manifest(&self) -> Value {
        manifest(self.cart.currency, &self.specs, self.max_codes)
    }

    /// With every allocation: the checks below add them up.
    fn request(&self) -> Value {
        json!({ "cart": self.cart.to_json(), "codes": self.codes, "now": NOW, "allocations": true })
    }

    /// The default, compact request.
    fn compact_request(&self) -> Value {
        json!({ "cart": self.cart.to_json(), "codes": self.codes, "now": NOW })
    }
}

fn case() -> impl Strategy<Value = Case> {
    (
        cart(),
        coupons(),
        prop::option::weighted(0.5, 1u32..=10),
        prop::collection::vec((0usize..10, any::<u8>()), 0..=10),
    )
        .prop_map(|(cart, specs, max_codes, picks)| {
            let codes = typed_codes(specs.len(), &picks);
            Case {
                cart,
                specs,
                max_codes,
                codes,
            }
        })
}

// ---------------------------------------------------------------------------------------------
// Checking
// ---------------------------------------------------------------------------------------------

/// Signs (with the committed test key) and loads a manifest at `NOW`.
fn load(manifest: &Value) -> Engine {
    common::load_jws(&common::sign(manifest), NOW, Limits::default())
        .unwrap_or_else(|e| panic!("manifest refused: {e}\n{manifest}"))
}

fn evaluate(engine: &Engine, request: &Value) -> String {
    let request_in: edge_coupons::input::EvaluateRequest = common::request(request).unwrap();
    common::to_json(
        &engine
            .evaluate(&request_in)
            .unwrap_or_else(|e| panic!("evaluate failed: {e}\n{request}")),
    )
}

/// An amount from the output: exactly `mu` digits after the point (none for 0), no sign.
fn amount(v: &Value, mu: u32, what: &str) -> Result<Decimal, TestCaseError> {
    let s = v
        .as_str()
        .ok_or_else(|| TestCaseError::fail(format!("{what}: {v} is not a string")))?;
    let digits = match s.split_once('.') {
        Some((int, frac)) => {
            !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()) && frac.len() == mu as usize
        }
        None => mu == 0,
    };
    prop_assert!(
        digits && s.bytes().all(|b| b.is_ascii_digit() || b == b'.'),
        "{what}: `{s}` does not have exactly {mu} minor-unit digits"
    );
    let d = Decimal::from_str_exact(s)
        .map_err(|e| TestCaseError::fail(format!("{what}: `{s}`: {e}")))?;
    prop_assert!(d >= Decimal::ZERO, "{what}: `{s}` is negative");
    Ok(d)
}

/// original - discount == final >= 0 on one line, shipping or fee; returns (original, discount).
fn amounts(v: &Value, mu: u32, what: &str) -> Result<(Decimal, Decimal), TestCaseError> {
    let original = amount(&v["original"], mu, &format!("{what}.original"))?;
    let discount = amount(&v["discount"], mu, &format!("{what}.discount"))?;
    let fin = amount(&v["final"], mu, &format!("{what}.final"))?;
    prop_assert_eq!(
        original - discount,
        fin,
        "{}: original - discount != final",
        what
    );
    prop_assert!(discount <= original, "{what}: discount exceeds original");
    Ok((original, discount))
}

fn round(d: Decimal, mu: u32) -> Decimal {
    d.round_dp_with_strategy(mu, RoundingStrategy::MidpointAwayFromZero)
}

fn pct(i: usize) -> Decimal {
    Decimal::from_str_exact(PERCENTS[i]).unwrap() / Decimal::ONE_HUNDRED
}

/// Every money invariant of one evaluation.
fn check(case: &Case, manifest: &Value, out: &Value) -> Result<(), TestCaseError> {
    let cart = &case.cart;
    let mu = cart.mu();
    let req = cart.to_json();

    // Lines: as sent, original = quantity x unit price, and original - discount = final >= 0.
    let lines = out["lines"].as_array().unwrap();
    prop_assert_eq!(lines.len(), cart.lines.len());
    let mut line_amounts: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
    let mut subtotal = Decimal::ZERO;
    let mut discount = Decimal::ZERO;
    for (l, sent) in lines.iter().zip(req["lines"].as_array().unwrap()) {
        let id = l["id"].as_str().unwrap().to_string();
        prop_assert_eq!(&l["id"], &sent["id"], "lines keep the cart's order");
        let (o, d) = amounts(l, mu, &format!("line {id}"))?;
        let unit = Decimal::from_str_exact(sent["unit_price"].as_str().unwrap()).unwrap();
        prop_assert_eq!(o, unit * Decimal::from(sent["quantity"].as_u64().unwrap()));
        subtotal += o;
        discount += d;
        line_amounts.insert(id, (o, d));
    }
    let mut shipping = Decimal::ZERO;
    let shipping_amounts = if out["shipping"].is_null() {
        prop_assert!(cart.shipping.is_none(), "shipping missing from the result");
        None
    } else {
        let (o, d) = amounts(&out["shipping"], mu, "shipping")?;
        prop_assert_eq!(
            o,
            Decimal::from_str_exact(req["shipping"]["amount"].as_str().unwrap()).unwrap()
        );
        shipping = o;
        discount += d;
        Some((o, d))
    };
    let mut fees = Decimal::ZERO;
    let mut fee_amounts: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
    let out_fees = out["fees"].as_array().unwrap();
    prop_assert_eq!(out_fees.len(), cart.fees.len());
    for f in out_fees {
        let id = f["id"].as_str().unwrap().to_string();
        let (o, d) = amounts(f, mu, &format!("fee {id}"))?;
        fees += o;
        discount += d;
        fee_amounts.insert(id, (o, d));
    }

    // Totals.
    let t = &out["totals"];
    let total_of = |k: &str| amount(&t[k], mu, &format!("totals.{k}"));
    prop_assert_eq!(total_of("subtotal")?, subtotal);
    prop_assert_eq!(total_of("shipping")?, shipping);
    prop_assert_eq!(total_of("fees")?, fees);
    prop_assert_eq!(
        total_of("discount")?,
        discount,
        "totals.discount != sum of all discounts"
    );
    prop_assert_eq!(
        total_of("total")?,
        subtotal + shipping + fees - discount,
        "total != subtotal + shipping + fees - discount"
    );
    prop_assert!(discount <= subtotal + shipping + fees);

    // Applied coupons: allocations sum to the discount, land only on the coupon's target, and
    // together make up every line, shipping and fee discount.
    let specs: BTreeMap<String, &CouponSpec> = case
        .specs
        .iter()
        .enumerate()
        .map(|(i, s)| (coupon_id(i), s))
        .collect();
    let coupons: BTreeMap<&str, &Value> = manifest["coupons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c))
        .collect();
    let mut by_line: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut by_fee: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut on_shipping = Decimal::ZERO;
    let mut applied_discount = Decimal::ZERO;
    let mut points = 0u64;
    let mut seen = std::collections::BTreeSet::new();
    for a in out["applied"].as_array().unwrap() {
        let id = a["coupon_id"].as_str().unwrap();
        prop_assert!(seen.insert(id.to_string()), "coupon {id} applied twice");
        let spec = specs[id];
        let mc = coupons[id];
        let d = amount(&a["discount"], mu, &format!("{id}.discount"))?;
        applied_discount += d;
        points += a["cashback_points"].as_u64().unwrap();
        let mut sum = Decimal::ZERO;
        let mut base = Decimal::ZERO; // what the coupon applies to, before any discount
        for al in a["allocations"].as_array().unwrap() {
            let x = amount(&al["amount"], mu, &format!("{id}.allocation"))?;
            prop_assert!(x > Decimal::ZERO, "{id}: a zero allocation is listed");
            sum += x;
            match (al["target"].as_str().unwrap(), &spec.reward) {
                (
                    "line",
                    Reward::PercentOrder { .. }
                    | Reward::FixedOrder { .. }
                    | Reward::PercentProducts { .. }
                    | Reward::FixedProducts { .. }
                    | Reward::BuyGet { .. }
                    | Reward::Tiered { .. }
                    | Reward::FixedPrice { .. }
                    | Reward::Select { .. },
                ) => {
                    let lid = al["id"].as_str().unwrap();
                    prop_assert!(line_amounts.contains_key(lid), "{id}: unknown line {lid}");
                    if let Some(cats) = spec.reward.product_cats() {
                        let line = cart.lines.iter().find(|l| l.id == lid).unwrap();
                        prop_assert!(
                            line.category.is_some_and(|c| cats.contains(&c)),
                            "{id}: discounted line {lid} does not match the product rule"
                        );
                    }
                    *by_line.entry(lid.to_string()).or_default() += x;
                }
                ("shipping", Reward::PercentShipping { .. } | Reward::FixedShipping { .. }) => {
                    on_shipping += x;
                }
                ("fee", Reward::PercentFee { fee, .. } | Reward::FixedFee { fee, .. }) => {
                    prop_assert_eq!(al["id"].as_str().unwrap(), FEES[*fee]);
                    *by_fee.entry(FEES[*fee].to_string()).or_default() += x;
                }
                (target, r) => prop_assert!(false, "{id}: allocation on {target} for {r:?}"),
            }
        }
        prop_assert_eq!(sum, d, "{}: allocations do not sum to the discount", id);
        // What the coupon applies to, as sent: its discount never exceeds it.
        match &spec.reward {
            Reward::PercentOrder { .. } | Reward::FixedOrder { .. } | Reward::Tiered { .. } => {
                base = subtotal;
            }
            Reward::PercentProducts { .. }
            | Reward::FixedProducts { .. }
            | Reward::BuyGet { .. }
            | Reward::FixedPrice { .. }
            | Reward::Select { .. } => {
                let cats = spec.reward.product_cats().unwrap();
                for l in &cart.lines {
                    if l.category.is_some_and(|c| cats.contains(&c)) {
                        base += line_amounts[&l.id].0;
                    }
                }
            }
            Reward::PercentShipping { .. } | Reward::FixedShipping { .. } => {
                base = shipping_amounts.map_or(Decimal::ZERO, |s| s.0);
            }
            Reward::PercentFee { fee, .. } | Reward::FixedFee { fee, .. } => {
                base = fee_amounts.get(FEES[*fee]).map_or(Decimal::ZERO, |f| f.0);
            }
            Reward::CashbackPercent { .. }
            | Reward::CashbackAmount { .. }
            | Reward::CashbackPoints { .. } => {
                prop_assert!(d.is_zero(), "{id}: cashback changed a price");
                prop_assert!(a["cashback_points"].as_u64().unwrap() > 0);
            }
        }
        let is_cashback = matches!(
            spec.reward,
            Reward::CashbackPercent { .. }
                | Reward::CashbackAmount { .. }
                | Reward::CashbackPoints { .. }
        );
        if !is_cashback {
            prop_assert!(d > Decimal::ZERO, "{id}: applied with nothing to discount");
            prop_assert!(
                d <= base,
                "{id}: discount {d} exceeds what it applies to ({base})"
            );
        }
        let r = &mc["reward"];
        if let Some(cap) = r["max_discount"].as_str() {
            let cap = Decimal::from_str_exact(cap).unwrap();
            prop_assert!(d <= cap, "{id}: discount {d} over max_discount {cap}");
        }
        if let Some(fixed) = r["amount"].as_str() {
            // `allocation: each` takes the amount off every unit, so only the others are capped.
            if !is_cashback && r["allocation"] != "each" {
                let fixed = Decimal::from_str_exact(fixed).unwrap();
                prop_assert!(
                    d <= fixed,
                    "{id}: discount {d} over the fixed amount {fixed}"
                );
            }
        }
        if let Reward::PercentOrder { pct: p, .. }
        | Reward::PercentProducts { pct: p, .. }
        | Reward::PercentShipping { pct: p }
        | Reward::PercentFee { pct: p, .. } = &spec.reward
        {
            // Rounded once on what is left, which is never more than the target as sent.
            let most = round(base * pct(*p), mu);
            prop_assert!(
                d <= most,
                "{id}: {d} is more than {}% of {base}",
                PERCENTS[*p]
            );
        }
    }
    prop_assert_eq!(
        applied_discount,
        discount,
        "applied discounts != totals.discount"
    );
    prop_assert_eq!(out["cashback_points"].as_u64().unwrap(), points);
    for (id, (_, d)) in &line_amounts {
        prop_assert_eq!(
            by_line.get(id).copied().unwrap_or_default(),
            *d,
            "line {}: allocations != line discount",
            id
        );
    }
    for (id, (_, d)) in &fee_amounts {
        prop_assert_eq!(
            by_fee.get(id).copied().unwrap_or_default(),
            *d,
            "fee {}: allocations != fee discount",
            id
        );
    }
    prop_assert_eq!(on_shipping, shipping_amounts.map_or(Decimal::ZERO, |s| s.1));
    Ok(())
}

/// A small deterministic shuffle (the seed comes from proptest).
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut x = seed | 1;
    for i in (1..items.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        items.swap(i, (x % (i as u64 + 1)) as usize);
    }
}

/// The result with lines and fees keyed by id, for comparing across input orders.
fn keyed(out: &Value) -> Value {
    let mut v = out.clone();
    for k in ["lines", "fees"] {
        let by_id: serde_json::Map<String, Value> = v[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x["id"].as_str().unwrap().to_string(), x.clone()))
            .collect();
        v[k] = Value::Object(by_id);
    }
    v
}

/// Other carts for the same manifest (one signed load costs about 20 carts): same currency.
fn more_carts(n: usize) -> impl Strategy<Value = Vec<Cart>> {
    prop::collection::vec(cart(), n)
}

/// The compact result is the full one without `allocations`, and every part an allocation
/// names is among the parts the coupon lists as touched.
fn compact_agrees(full: &Value, compact: &Value) -> Result<(), TestCaseError> {
    let mut stripped = full.clone();
    for a in stripped["applied"].as_array_mut().unwrap() {
        let touched = a.clone();
        for al in a["allocations"].as_array().unwrap() {
            let id = al["id"].as_str().unwrap_or_default();
            let listed = match al["target"].as_str().unwrap() {
                "line" => {
                    touched["lines"] == json!("all")
                        || touched["lines"]
                            .as_array()
                            .is_some_and(|l| l.contains(&json!(id)))
                }
                "shipping" => touched["shipping"] == json!(true),
                _ => touched["fees"]
                    .as_array()
                    .is_some_and(|f| f.contains(&json!(id))),
            };
            prop_assert!(
                listed,
                "{}: allocation on {} not listed as touched",
                a["coupon_id"],
                id
            );
        }
        a.as_object_mut().unwrap().remove("allocations");
    }
    prop_assert_eq!(
        &stripped,
        compact,
        "the compact result is not the full one less allocations"
    );
    Ok(())
}

proptest! {
    // 128 manifests x 4 carts here and 128 x 2 below; `independent_of_line_and_code_order` checks
    // the same invariants on 256 more, twice each.
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Lines, shipping, fees and totals add up; allocations sum exactly; digits; caps.
    #[test]
    fn money_invariants_hold(case in case(), more in more_carts(3)) {
        let manifest = case.manifest();
        let engine = load(&manifest);
        let currency = case.cart.currency;
        for cart in std::iter::once(case.cart.clone()).chain(more) {
            let case = Case { cart: Cart { currency, ..cart }, ..case.clone() };
            let out: Value = serde_json::from_str(&evaluate(&engine, &case.request())).unwrap();
            check(&case, &manifest, &out)?;
            let compact: Value =
                serde_json::from_str(&evaluate(&engine, &case.compact_request())).unwrap();
            compact_agrees(&out, &compact)?;
        }
    }

    /// Stacking every step at once: a product, an order and a shipping coupon, all typed.
    #[test]
    fn stacking_product_order_shipping(
        carts in more_carts(2),
        product in (prop::collection::btree_set(0usize..CATEGORIES.len(), 1..=2), 0usize..PERCENTS.len(), prop::option::of(any::<u64>())),
        order in prop_oneof![
            (0usize..PERCENTS.len(), prop::option::of(any::<u64>())).prop_map(|(pct, cap)| Reward::PercentOrder { pct, cap }),
            any::<u64>().prop_map(|amount| Reward::FixedOrder { amount }),
        ],
        ship in prop_oneof![
            (0usize..PERCENTS.len()).prop_map(|pct| Reward::PercentShipping { pct }),
            any::<u64>().prop_map(|amount| Reward::FixedShipping { amount }),
        ],
        shipping in any::<u64>(),
        priorities in (-2i32..=2, -2i32..=2, -2i32..=2),
    ) {
        let (cats, pct, cap) = product;
        let specs = vec![
            CouponSpec { automatic: false, priority: priorities.0, reward: Reward::PercentProducts { cats: cats.into_iter().collect(), pct, cap } },
            CouponSpec { automatic: false, priority: priorities.1, reward: order },
            CouponSpec { automatic: false, priority: priorities.2, reward: ship },
        ];
        let currency = carts[0].currency;
        let manifest = manifest(currency, &specs, None);
        let engine = load(&manifest);
        for cart in carts {
            let cart = Cart { currency, shipping: Some(shipping), ..cart };
            let case = Case { cart, specs: specs.clone(), max_codes: None, codes: vec![code(2), code(0), code(1)] };
            let out: Value = serde_json::from_str(&evaluate(&engine, &case.request())).unwrap();
            check(&case, &manifest, &out)?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Shuffling the lines, the fees and the typed codes changes nothing; evaluating twice gives
    /// the same bytes.
    #[test]
    fn independent_of_line_and_code_order(case in case(), seed in any::<u64>()) {
        let manifest = case.manifest();
        let engine = load(&manifest);
        let first = evaluate(&engine, &case.request());
        prop_assert_eq!(&first, &evaluate(&engine, &case.request()), "evaluate is not idempotent");
        let out: Value = serde_json::from_str(&first).unwrap();
        check(&case, &manifest, &out)?;
        let mut shuffled = case.clone();
        shuffle(&mut shuffled.cart.lines, seed);
        shuffle(&mut shuffled.cart.fees, seed.rotate_left(17));
        shuffle(&mut shuffled.codes, seed.rotate_left(33));
        let out2: Value = serde_json::from_str(&evaluate(&engine, &shuffled.request())).unwrap();
        check(&shuffled, &manifest, &out2)?;
        prop_assert_eq!(keyed(&out), keyed(&out2));
    }

}

proptest! {
    // Two signed loads per case (about 25 ms each in a debug build): fewer cases. Idempotence on one
    // engine is also checked in every case of `independent_of_line_and_code_order`.
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The same input twice, on the same engine and on a freshly loaded one: the same bytes.
    #[test]
    fn deterministic_and_idempotent(case in case()) {
        let manifest = case.manifest();
        let engine = load(&manifest);
        let request = case.request();
        let first = evaluate(&engine, &request);
        prop_assert_eq!(&first, &evaluate(&engine, &request));
        prop_assert_eq!(&first, &evaluate(&load(&manifest), &request));
    }
}

/// Weights (currency amounts) and a total not above their sum.
fn allocation_input() -> impl Strategy<Value = (Currency, Vec<Decimal>, Decimal)> {
    (
        prop_oneof![Just("USD"), Just("JPY"), Just("KWD"), Just("CLF")],
        prop::collection::vec(
            prop_oneof![
                3 => 0u64..100_000,
                1 => 0u64..10,
                1 => 0u64..1_000_000_000_000_000, // up to 10^15 minor units
            ],
            1..=40,
        ),
        any::<u64>(),
    )
        .prop_map(|(code, units, t)| {
            let currency = Currency::from_code(code).unwrap();
            let mu = currency.minor_units();
            let weights: Vec<Decimal> = units.iter().map(|&u| Decimal::new(u as i64, mu)).collect();
            let whole: u64 = units.iter().sum();
            let total = Decimal::new((t % (whole + 1)) as i64, mu);
            (currency, weights, total)
        })
}

/// A whole number of minor units, as an integer.
fn units(d: Decimal, unit: Decimal) -> i128 {
    i128::try_from(d / unit).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    /// Shares sum to the total, none exceeds its weight, each is whole minor units, and each is
    /// within one minor unit of its exact proportional share (largest remainder).
    #[test]
    fn allocate_is_exact((currency, weights, total) in allocation_input()) {
        let shares = allocate(total, &weights, currency).unwrap();
        prop_assert_eq!(shares.len(), weights.len());
        prop_assert_eq!(shares.iter().copied().sum::<Decimal>(), total);
        let unit = currency.unit();
        let whole: Decimal = weights.iter().copied().sum();
        for (s, w) in shares.iter().zip(&weights) {
            prop_assert!(*s >= Decimal::ZERO, "negative share {s}");
            prop_assert!(s <= w, "share {s} over its weight {w}");
            prop_assert!((s / unit).fract().is_zero(), "share {s} is not whole {unit}s");
            // |share - total x w / whole| < unit, compared without division: |s.whole - t.w| < unit.whole.
            let (s_u, w_u, t_u, whole_u) = (units(*s, unit), units(*w, unit), units(total, unit), units(whole, unit));
            prop_assert!(
                whole_u == 0 || (s_u * whole_u - t_u * w_u).abs() < whole_u,
                "share {s} of {total} for {w}/{whole} is off by a unit or more"
            );
        }
    }

    /// Over-asking is cut to the sum of the weights (documented: total must not exceed it).
    #[test]
    fn allocate_never_gives_more_than_the_weights(
        (currency, weights, _) in allocation_input(),
        extra in 1u64..1_000_000,
    ) {
        let whole: Decimal = weights.iter().copied().sum();
        let total = whole + Decimal::new(extra as i64, currency.minor_units());
        let shares = allocate(total, &weights, currency).unwrap();
        for (s, w) in shares.iter().zip(&weights) {
            prop_assert!(s <= w && *s >= Decimal::ZERO);
        }
        let given: Decimal = shares.iter().copied().sum();
        if !whole.is_zero() {
            prop_assert_eq!(given, whole);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Campaign events (`distribute`)
// ---------------------------------------------------------------------------------------------

const EVENTS: [&str; 3] = ["cart_abandoned", "purchase", "sign_up"];

/// Coupons given or activated by events, with `where` filters, delays and relative expiry.
fn campaign_manifest() -> Value {
    let assigned = |id: &str, event: &str, min: &str, delay: &str, expiry: &str| {
        json!({ "id": id, "name": id, "status": "active", "codes": { "type": "automatic" },
            "audience": { "type": "assigned" },
            "distribution": [{ "event": event, "delay": delay,
                "where": { "fact": "event.properties.value", "op": "gte", "value": min } }],
            "expiry": { "type": "relative", "duration": expiry, "from": "assignment" },
            "reward": { "type": "percentage", "percent": "10", "target": { "type": "order" } } })
    };
    let activated = |id: &str, event: &str, min: &str| {
        json!({ "id": id, "name": id, "status": "active", "codes": { "type": "automatic" },
            "activation": { "type": "event", "event": event,
                "where": { "fact": "event.properties.value", "op": "gte", "value": min } },
            "reward": { "type": "percentage", "percent": "5", "target": { "type": "order" } } })
    };
    json!({ "version": 1, "id": "campaigns", "issued_at": "2026-11-01T00:00:00Z",
        "expires_at": "2026-12-31T00:00:00Z", "currency": "USD",
        "coupons": [
            assigned("back", "cart_abandoned", "20", "PT1H", "PT48H"),
            assigned("thanks", "purchase", "100", "PT0S", "P7D"),
            assigned("any-purchase", "purchase", "0", "P1D", "PT12H"),
            activated("big", "purchase", "500"),
            activated("welcome", "sign_up", "0"),
        ] })
}

/// An event: a name, hours before NOW, a value, and an id.
fn campaign_event() -> impl Strategy<Value = Value> {
    (0..EVENTS.len(), 0u32..400, 0u32..900, 0u32..1000).prop_map(|(name, hours, value, id)| {
        let at = 1_795_435_200 - i64::from(hours) * 3600; // NOW minus `hours`
        let at = edge_coupons::time::Instant::from_timestamp(at, 0).unwrap();
        json!({ "id": format!("e{id}"), "name": EVENTS[name],
            "at": edge_coupons::time::format_instant(at), "properties": { "value": value } })
    })
}

fn distribute(engine: &Engine, user: &Value, event: &Value) -> Value {
    common::play(
        engine,
        "distribute",
        &json!({ "user": user, "event": event }),
        NOW,
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// What an event does does not depend on the order of the user's past events and assignments;
    /// once its assignments are stored, the same event (a retry) assigns nothing again; and an event
    /// activates a coupon only when no earlier event fired the same trigger.
    #[test]
    fn distribution_is_order_free_and_replay_safe(
        past in proptest::collection::vec(campaign_event(), 0..8),
        event in campaign_event(),
        seed in any::<u64>(),
    ) {
        let engine = common::load(&campaign_manifest(), NOW, None).unwrap();
        // The user's past, as the Worker would have stored it: each event with what it assigned.
        let mut user = json!({ "id": "u1", "events": [], "assignments": [] });
        let mut sorted = past.clone();
        sorted.sort_by(|a, b| a["at"].as_str().cmp(&b["at"].as_str()));
        for e in &sorted {
            let out = distribute(&engine, &user, e);
            for a in out["assigned"].as_array().unwrap() {
                user["assignments"].as_array_mut().unwrap().push(
                    json!({ "coupon_id": a["coupon_id"], "assigned_at": a["assigned_at"] }));
            }
            user["events"].as_array_mut().unwrap().push(e.clone());
        }
        let first = distribute(&engine, &user, &event);
        let mut shuffled = user.clone();
        shuffle(shuffled["events"].as_array_mut().unwrap(), seed);
        shuffle(shuffled["assignments"].as_array_mut().unwrap(), seed.rotate_left(29));
        prop_assert_eq!(&first, &distribute(&engine, &shuffled, &event));

        let mut after = user.clone();
        for a in first["assigned"].as_array().unwrap() {
            after["assignments"].as_array_mut().unwrap().push(
                json!({ "coupon_id": a["coupon_id"], "assigned_at": a["assigned_at"] }));
        }
        after["events"].as_array_mut().unwrap().push(event.clone());
        let replay = distribute(&engine, &after, &event);
        prop_assert!(replay["assigned"].as_array().unwrap().is_empty(), "a retry assigned again: {}", replay);
        prop_assert_eq!(&replay["activated"], &first["activated"], "a retry is not its own past");

        // Activated exactly when this event fires the trigger and no earlier one (another id) did.
        for (coupon, name, min) in [("big", "purchase", 500), ("welcome", "sign_up", 0)] {
            let fires = |e: &Value| e["name"] == name && e["properties"]["value"].as_u64().unwrap() >= min;
            let earlier = past.iter().any(|e| e["id"] != event["id"] && e["at"].as_str() <= event["at"].as_str() && fires(e));
            let activated = first["activated"].as_array().unwrap().iter().any(|a| a["coupon_id"] == coupon);
            prop_assert_eq!(activated, fires(&event) && !earlier, "{} by {}", coupon, event);
        }
    }
}

/// Property cases for every layer: the first [`PROPERTY_VECTORS`] cases of a deterministic draw,
/// each checked here against the money invariants (and its compact result against the full one),
/// are committed as vectors `tests/vectors/6NN-property-case.json` with the whole result expected.
/// The vector runners in Node, workerd and Chromium must give that result, so the invariants hold
/// there too. A change to the engine's results or to the draw fails here until the files are
/// written again: `UPDATE_PROPERTY_VECTORS=1 cargo test --test properties property_vectors`.
const PROPERTY_VECTORS: usize = 32;

#[test]
fn property_vectors_are_checked_and_current() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let update = std::env::var_os("UPDATE_PROPERTY_VECTORS").is_some();
    let mut runner = TestRunner::deterministic();
    let mut stale = Vec::new();
    for i in 0..PROPERTY_VECTORS {
        let case = case().new_tree(&mut runner).unwrap().current();
        let manifest = case.manifest();
        let engine = load(&manifest);
        let out: Value = serde_json::from_str(&evaluate(&engine, &case.request())).unwrap();
        check(&case, &manifest, &out).unwrap_or_else(|e| panic!("property case {i}: {e}"));
        let compact: Value =
            serde_json::from_str(&evaluate(&engine, &case.compact_request())).unwrap();
        compact_agrees(&out, &compact).unwrap_or_else(|e| panic!("property case {i}: {e}"));
        let (name, mu) = CURRENCIES[case.cart.currency];
        let description = format!(
            "property case {i} (tests/properties.rs, a deterministic draw): {name} ({mu} decimals), \
             {} lines, {} coupons, {} codes typed; the whole result, checked natively against the \
             money invariants",
            case.cart.lines.len(),
            case.specs.len(),
            case.codes.len()
        );
        let input = case.request();
        let expected = common::play(&engine, "evaluate", &input, NOW).unwrap();
        assert_eq!(
            out, expected,
            "property case {i}: the vector's result is not the one checked"
        );
        let vector = json!({
            "description": description, "now": NOW, "manifest": manifest, "op": "evaluate",
            "input": input, "expect": { "result": expected },
        });
        let text = format!("{}\n", serde_json::to_string_pretty(&vector).unwrap());
        let path = common::root().join(format!("tests/vectors/{}-property-case.json", 600 + i));
        if update {
            std::fs::write(&path, text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    let mut written: Vec<String> = std::fs::read_dir(common::root().join("tests/vectors"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with("-property-case.json"))
        .collect();
    written.sort();
    let drawn: Vec<String> = (0..PROPERTY_VECTORS)
        .map(|i| format!("{}-property-case.json", 600 + i))
        .collect();
    assert_eq!(
        written, drawn,
        "property vectors that the draw does not write"
    );
    assert!(
        stale.is_empty(),
        "not what the draw gives now (UPDATE_PROPERTY_VECTORS=1 cargo test --test properties \
         property_vectors writes them): {stale:?}"
    );
}
