//! The docs are tested: every manifest in docs/examples/ loads through the engine (signed with the
//! test key) and behaves as its description says; every ```json block of docs/manifest.md is a
//! manifest, a coupon fragment, or a call whose shown result the engine gives; and docs/errors.md
//! lists exactly the error and reason codes the engine has. The same examples are validated against
//! docs/manifest.schema.json in Node (tests/node/schema.test.mjs).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use edge_coupons::{Error, Reason};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn examples() -> Vec<PathBuf> {
    let dir = common::root().join("docs/examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

fn read(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()))
}

fn example(name: &str) -> Value {
    read(&common::root().join("docs/examples").join(name))
}

fn name_of(path: &std::path::Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// An hour after the manifest's `issued_at`: inside its validity for every example.
fn an_hour_in(manifest: &Value) -> String {
    let issued = manifest["issued_at"]
        .as_str()
        .expect("issued_at is a string");
    let t: DateTime<Utc> = DateTime::parse_from_rfc3339(issued)
        .expect("issued_at is RFC 3339")
        .with_timezone(&Utc);
    (t + Duration::hours(1)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Loads the manifest and asks it the three questions with simple input; any error fails.
fn smoke(manifest: &Value) -> Result<(), String> {
    let now = an_hour_in(manifest);
    let engine =
        common::load(manifest, &now, None).map_err(|e| format!("load: {} ({e})", e.code()))?;
    let visible_codes: Vec<Value> = manifest["coupons"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["codes"].get("code").cloned())
        .collect();
    let currency = manifest["currency"].clone();
    let cart = json!({
        "cart": {
            "currency": currency,
            "lines": [{ "id": "l1", "product_id": "p1", "quantity": 2, "unit_price": "100" }],
            "shipping": { "amount": "5" },
            "fees": [{ "id": "platform_fee", "amount": "3" }]
        },
        "codes": visible_codes
    });
    common::play(&engine, "evaluate", &cart, &now)
        .map_err(|e| format!("evaluate: {} ({e})", e.code()))?;
    common::play(&engine, "tray", &json!({}), &now)
        .map_err(|e| format!("tray: {} ({e})", e.code()))?;
    for code in &visible_codes {
        common::play(&engine, "checkCode", &json!({ "code": code }), &now)
            .map_err(|e| format!("checkCode {code}: {} ({e})", e.code()))?;
    }
    Ok(())
}

#[test]
fn every_example_loads_and_answers() {
    let files = examples();
    assert!(
        files.len() >= 7 && files.iter().any(|p| name_of(p) == "demo-manifest.json"),
        "docs/examples needs demo-manifest.json and at least six examples, found {files:?}"
    );
    let failures: Vec<String> = files
        .iter()
        .filter_map(|p| {
            smoke(&read(p))
                .err()
                .map(|e| format!("{}: {e}", name_of(p)))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// One documented behaviour of an example: `op` on `input` at `now` gives (at least) `expect`.
fn check(file: &str, now: &str, op: &str, input: Value, expect: Value) -> Result<(), String> {
    let manifest = example(file);
    let engine = common::load(&manifest, now, None)
        .map_err(|e| format!("{file}: load failed with {} ({e})", e.code()))?;
    let result = common::play(&engine, op, &input, now)
        .map_err(|e| format!("{file} at {now}: {op} failed with {} ({e})", e.code()))?;
    common::contains(&result, &expect, "result").map_err(|e| format!("{file} at {now}: {e}"))
}

fn usd_shoes() -> Value {
    cart(
        "USD",
        json!([{ "id": "l1", "product_id": "runner", "quantity": 1, "unit_price": "120.00",
                 "attributes": { "category": "shoes" } }]),
    )
}

fn cart(currency: &str, lines: Value) -> Value {
    json!({ "currency": currency, "lines": lines })
}

#[test]
fn examples_behave_as_described() {
    let usd_300 = cart(
        "USD",
        json!([{ "id": "l1", "product_id": "coat", "quantity": 1, "unit_price": "300.00" }]),
    );
    let checks = [
        // A new customer (signed in, no orders_count at all) gets 10%, capped at 25.00.
        check(
            "welcome-new-customers.json",
            "2026-11-21T12:00:00Z",
            "evaluate",
            json!({ "cart": usd_300, "codes": ["welcome10"], "user": { "id": "c-1" } }),
            json!({ "totals": { "discount": "25.00", "total": "275.00" },
                    "applied": [{ "coupon_id": "welcome-10", "code": "WELCOME10" }], "rejected": [] }),
        ),
        check(
            "welcome-new-customers.json",
            "2026-11-21T12:00:00Z",
            "evaluate",
            json!({ "cart": usd_300, "codes": ["WELCOME10"], "user": { "id": "c-1", "properties": { "orders_count": 3 } } }),
            json!({ "applied": [], "rejected": [{ "code": "WELCOME10",
                    "reason": { "code": "NOT_IN_AUDIENCE", "segment": "new_customers" } }] }),
        ),
        check(
            "festive-sale.json",
            "2026-11-28T12:00:00Z",
            "checkCode",
            json!({ "code": "festive20", "user": { "id": "c-1" } }),
            json!({ "valid": false, "reason": { "code": "NOT_YET_ACTIVE", "starts_at": "2026-11-30T23:00:00Z" } }),
        ),
        check(
            "festive-sale.json",
            "2026-12-10T12:00:00Z",
            "evaluate",
            json!({ "cart": { "currency": "EUR",
                              "lines": [{ "id": "l1", "product_id": "scarf", "quantity": 2, "unit_price": "20.00" }],
                              "fees": [{ "id": "gift_wrap", "amount": "3.50" }] },
                    "codes": ["FESTIVE20"], "user": { "id": "c-1" } }),
            json!({ "fees": [{ "id": "gift_wrap", "final": "0.00" }],
                    "totals": { "subtotal": "40.00", "fees": "3.50", "discount": "11.50", "total": "32.00" } }),
        ),
        check(
            "free-shipping-over-50.json",
            "2026-11-21T12:00:00Z",
            "evaluate",
            json!({ "cart": { "currency": "USD",
                              "lines": [{ "id": "l1", "product_id": "mug", "quantity": 2, "unit_price": "25.00" }],
                              "shipping": { "amount": "6.99" }, "attributes": { "shipping_country": "US" } } }),
            json!({ "shipping": { "original": "6.99", "final": "0.00" },
                    "applied": [{ "coupon_id": "free-shipping-50", "automatic": true }] }),
        ),
        check(
            "free-shipping-over-50.json",
            "2026-11-21T12:00:00Z",
            "evaluate",
            json!({ "cart": { "currency": "USD",
                              "lines": [{ "id": "l1", "product_id": "mug", "quantity": 1, "unit_price": "49.99" }],
                              "shipping": { "amount": "6.99" }, "attributes": { "shipping_country": "US" } } }),
            json!({ "shipping": { "final": "6.99" }, "applied": [] }),
        ),
        check(
            "platform-fee-waiver.json",
            "2026-11-21T12:00:00Z",
            "evaluate",
            json!({ "cart": { "currency": "INR",
                              "lines": [{ "id": "l1", "product_id": "rice", "quantity": 1, "unit_price": "599.00" }],
                              "fees": [{ "id": "platform_fee", "amount": "15.00" }] },
                    "codes": ["nofee499"] }),
            json!({ "fees": [{ "id": "platform_fee", "discount": "10.00", "final": "5.00" }] }),
        ),
        check(
            "platform-fee-waiver.json",
            "2026-11-21T12:00:00Z",
            "evaluate",
            json!({ "cart": { "currency": "INR",
                              "lines": [{ "id": "l1", "product_id": "rice", "quantity": 1, "unit_price": "199.00" }],
                              "fees": [{ "id": "platform_fee", "amount": "15.00" }] },
                    "user": { "id": "c-1", "properties": { "membership": "plus" } } }),
            json!({ "fees": [{ "final": "0.00" }], "applied": [{ "coupon_id": "member-fee-waiver" }] }),
        ),
        // 5% of 123.45 is 6.1725, rounded once to 6.17; 10 points per dollar, rounded down: 61.
        check(
            "cashback-wallet.json",
            "2026-11-21T12:00:00Z",
            "evaluate",
            json!({ "cart": { "currency": "USD",
                              "lines": [{ "id": "l1", "product_id": "tv", "quantity": 1, "unit_price": "123.45" }],
                              "attributes": { "payment_method": "shoppay_wallet" } } }),
            json!({ "cashback_points": 61, "totals": { "discount": "0.00", "total": "123.45" } }),
        ),
        check(
            "hidden-staff-code.json",
            "2026-11-21T12:00:00Z",
            "evaluate",
            json!({ "cart": { "currency": "GBP",
                              "lines": [{ "id": "l1", "product_id": "boots", "quantity": 1, "unit_price": "200.00" }] },
                    "user": { "id": "c-1", "segments": ["staff"] }, "codes": ["staff-4q7x-k2m9"] }),
            json!({ "totals": { "discount": "60.00" }, "applied": [{ "coupon_id": "staff-30" }] }),
        ),
        check(
            "hidden-staff-code.json",
            "2026-11-21T12:00:00Z",
            "tray",
            json!({ "segments": ["staff"] }),
            json!([]),
        ),
        check(
            "cart-abandonment.json",
            "2026-11-22T09:00:00Z",
            "evaluate",
            json!({ "cart": usd_300, "codes": ["BACK-7H2K-Q9ZX"],
                    "user": { "id": "u42", "assignments": [{ "coupon_id": "cart-comeback-15",
                              "assigned_at": "2026-11-21T10:00:00Z", "code": "BACK7H2KQ9ZX" }] } }),
            json!({ "totals": { "discount": "30.00" },
                    "applied": [{ "coupon_id": "cart-comeback-15", "verification": "format_only" }] }),
        ),
        check(
            "cart-abandonment.json",
            "2026-11-23T10:00:00Z",
            "checkCode",
            json!({ "code": "BACK7H2KQ9ZX",
                    "user": { "id": "u42", "assignments": [{ "coupon_id": "cart-comeback-15",
                              "assigned_at": "2026-11-21T10:00:00Z", "code": "BACK7H2KQ9ZX" }] } }),
            json!({ "valid": false, "reason": { "code": "EXPIRED", "expired_at": "2026-11-23T10:00:00Z" } }),
        ),
        check(
            "app-install-offer.json",
            "2026-11-21T09:30:00Z",
            "checkCode",
            json!({ "code": "APP750", "user": { "id": "c-1", "events": [{ "name": "app_install", "at": "2026-11-21T09:00:00Z" }] } }),
            json!({ "valid": false, "reason": { "code": "NOT_YET_ACTIVE", "starts_at": "2026-11-21T10:00:00Z" } }),
        ),
        check(
            "app-install-offer.json",
            "2026-11-22T09:30:00Z",
            "evaluate",
            json!({ "cart": { "currency": "USD",
                              "lines": [{ "id": "l1", "product_id": "tee", "quantity": 2, "unit_price": "15.00" }],
                              "attributes": { "channel": "app" } },
                    "codes": ["APP750"],
                    "user": { "id": "c-1", "events": [{ "name": "app_install", "at": "2026-11-21T09:00:00Z" }] } }),
            json!({ "totals": { "discount": "7.50", "total": "22.50" } }),
        ),
        // The cart of www/index.html.
        check(
            "demo-manifest.json",
            "2026-01-15T12:00:00Z",
            "evaluate",
            json!({ "cart": { "currency": "USD", "lines": [
                        { "id": "l1", "product_id": "sku-1", "quantity": 2, "unit_price": "12.50", "attributes": { "category": "shoes" } },
                        { "id": "l2", "product_id": "sku-2", "quantity": 1, "unit_price": "40.00", "attributes": { "category": "shirts" } }
                    ] },
                    "codes": ["SHOES15"] }),
            json!({ "lines": [{ "id": "l1", "discount": "3.75" }, { "id": "l2", "discount": "0.00" }],
                    "applied": [{ "coupon_id": "shoes-15" }] }),
        ),
        check(
            "demo-manifest.json",
            "2026-01-15T12:00:00Z",
            "checkCode",
            json!({ "code": "TEAM-DEMO-7K4P-2X", "user": { "id": "c-1", "segments": ["staff"] } }),
            json!({ "valid": true, "coupon_id": "team-25" }),
        ),
        // One coupon, several code sources (docs/manifest.md, `multi`): the hidden code and a
        // newsletter code count against the same limits.
        check(
            "staff-and-newsletter-shoes.json",
            "2026-12-01T12:00:00Z",
            "evaluate",
            json!({ "cart": usd_shoes(), "codes": ["staff20"], "user": { "id": "c-1" } }),
            json!({ "totals": { "discount": "24.00" },
                    "applied": [{ "coupon_id": "shoes-20", "code": "STAFF20", "verification": "full" }] }),
        ),
        check(
            "staff-and-newsletter-shoes.json",
            "2026-12-01T12:00:00Z",
            "evaluate",
            json!({ "cart": usd_shoes(), "codes": ["NEWS-7H2K-Q9ZX"], "user": { "id": "c-2" } }),
            json!({ "applied": [{ "coupon_id": "shoes-20", "code": "NEWS7H2KQ9ZX", "verification": "format_only" }] }),
        ),
        check(
            "staff-and-newsletter-shoes.json",
            "2026-12-01T12:00:00Z",
            "evaluate",
            json!({ "cart": usd_shoes(), "codes": ["NEWS7H2KQ9ZX"], "user": { "id": "c-1" },
                    "usage": { "coupons": { "shoes-20": { "redemptions": 1, "user_redemptions": 1 } } } }),
            json!({ "applied": [], "rejected": [{ "code": "NEWS7H2KQ9ZX",
                    "reason": { "code": "USER_LIMIT_REACHED", "limit": 1, "used": 1 } }] }),
        ),
    ];
    let failures: Vec<String> = checks.into_iter().filter_map(Result::err).collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// docs/manifest.md

/// The ```json blocks of a markdown text, with their line numbers.
fn json_blocks(text: &str) -> Vec<(usize, Value)> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut open {
            None if line.trim_end() == "```json" => open = Some((i + 1, String::new())),
            None => {}
            Some((start, body)) => {
                if line.trim_end() == "```" {
                    let value = serde_json::from_str(body)
                        .unwrap_or_else(|e| panic!("docs/manifest.md:{start}: not JSON: {e}"));
                    blocks.push((*start, value));
                    open = None;
                } else {
                    body.push_str(line);
                    body.push('\n');
                }
            }
        }
    }
    assert!(
        open.is_none(),
        "docs/manifest.md: a ```json block is not closed"
    );
    blocks
}

/// The base a coupon fragment is laid over (the same in tests/node/schema.test.mjs).
fn base_manifest(coupon: Value) -> Value {
    json!({
        "version": 1,
        "id": "shop-docs",
        "issued_at": "2026-11-20T00:00:00Z",
        "expires_at": "2027-01-31T00:00:00Z",
        "currency": "USD",
        "segments": {
            "new_customers": { "fact": "user.properties.orders_count", "op": "eq", "value": 0 },
            "staff": { "fact": "user.segments", "op": "contains", "value": "staff" }
        },
        "coupons": [coupon]
    })
}

fn base_coupon() -> Value {
    json!({
        "id": "docs-snippet",
        "name": "Snippet",
        "status": "active",
        "codes": { "type": "automatic" },
        "reward": { "type": "percentage", "percent": "10", "target": { "type": "order" } }
    })
}

enum Block {
    Manifest,
    Evaluate,
    Tray,
    CheckCode,
    Distribute,
    Result,
    Coupon,
}

fn classify(v: &Value) -> Block {
    let has = |k: &str| v.get(k).is_some();
    if v.is_array() || has("manifest_id") || has("valid") || has("assigned") {
        Block::Result
    } else if has("version") {
        Block::Manifest
    } else if has("cart") {
        Block::Evaluate
    } else if has("code") && has("user") {
        Block::CheckCode
    } else if has("event") && has("user") {
        Block::Distribute
    } else if has("now") {
        Block::Tray
    } else {
        Block::Coupon
    }
}

/// Requests run against docs/examples/demo-manifest.json at their own `now`.
fn run_request(op: &str, input: &Value, now: Option<&str>) -> Result<Value, String> {
    let now = now.ok_or("a request in the docs must carry `now`")?;
    let engine = common::load(&example("demo-manifest.json"), now, None)
        .map_err(|e| format!("the demo manifest does not load at {now}: {e}"))?;
    common::play(&engine, op, input, now)
        .map_err(|e| format!("{op} failed with {} ({e})", e.code()))
}

#[test]
fn manifest_md_json_blocks_are_valid_and_true() {
    let path = common::root().join("docs/manifest.md");
    let text = std::fs::read_to_string(&path).expect("docs/manifest.md");
    let blocks = json_blocks(&text);
    assert!(
        blocks.len() >= 10,
        "only {} json blocks in docs/manifest.md",
        blocks.len()
    );
    let mut failures = Vec::new();
    let mut last: Option<Value> = None;
    let (mut coupons, mut results) = (0, 0);
    for (line, v) in &blocks {
        let outcome: Result<(), String> = match classify(v) {
            Block::Manifest => common::load(v, &an_hour_in(v), None)
                .map(|_| ())
                .map_err(|e| format!("{} ({e})", e.code())),
            Block::Coupon => {
                coupons += 1;
                let mut coupon = base_coupon();
                for (k, x) in v.as_object().expect("a coupon fragment is an object") {
                    coupon[k.as_str()] = x.clone();
                }
                common::load(&base_manifest(coupon), "2026-11-21T00:00:00Z", None)
                    .map(|_| ())
                    .map_err(|e| format!("as a coupon: {} ({e})", e.code()))
            }
            Block::Evaluate => run_request("evaluate", v, v["now"].as_str()).map(|r| {
                last = Some(r);
            }),
            Block::Tray => run_request("tray", v, v["now"].as_str()).map(|r| {
                last = Some(r);
            }),
            Block::CheckCode => run_request("checkCode", v, v["user"]["now"].as_str()).map(|r| {
                last = Some(r);
            }),
            Block::Distribute => run_request("distribute", v, v["user"]["now"].as_str()).map(|r| {
                last = Some(r);
            }),
            Block::Result => {
                results += 1;
                match last.take() {
                    None => Err("a result that follows no request".into()),
                    Some(actual) => common::contains(&actual, v, "result"),
                }
            }
        };
        if let Err(e) = outcome {
            failures.push(format!("docs/manifest.md:{line}: {e}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert!(
        coupons >= 8,
        "only {coupons} coupon fragments in docs/manifest.md"
    );
    assert!(
        results >= 3,
        "only {results} shown results in docs/manifest.md"
    );
}

// ---------------------------------------------------------------------------------------------
// docs/errors.md

/// The codes in the first column of the markdown table under `heading`.
fn table_codes(text: &str, heading: &str) -> BTreeSet<String> {
    let section = text
        .split("\n## ")
        .find(|s| s.starts_with(heading))
        .unwrap_or_else(|| panic!("docs/errors.md has no `## {heading}` section"));
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split('`').nth(1).map(str::to_string))
        .collect()
}

#[test]
fn errors_md_lists_every_code_once() {
    let text =
        std::fs::read_to_string(common::root().join("docs/errors.md")).expect("docs/errors.md");
    for (heading, codes) in [
        ("Error codes", Error::CODES),
        ("Reason codes", Reason::CODES),
    ] {
        let documented = table_codes(&text, heading);
        let known: BTreeSet<String> = codes.iter().map(|c| c.to_string()).collect();
        let missing: Vec<_> = known.difference(&documented).collect();
        let unknown: Vec<_> = documented.difference(&known).collect();
        assert!(
            missing.is_empty() && unknown.is_empty(),
            "{heading}: not documented {missing:?}; documented but not in the engine {unknown:?}"
        );
        let rows = text
            .split("\n## ")
            .find(|s| s.starts_with(heading))
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("| `"))
            .count();
        assert_eq!(rows, known.len(), "{heading}: a code is listed twice");
    }
}
