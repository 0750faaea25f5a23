//! The engine compiled to wasm32 and run in Node by wasm-bindgen-test (scripts/test.sh runs every
//! test file that uses `wasm_bindgen_test` with `wasm-bindgen-test-runner`).
//!
//! The JS skin (`CouponEngine` in src/wasm.rs) is private to the crate, so it cannot be called from
//! an integration test; tests/node/ covers it through the built package. Here the public core
//! (`Engine`) runs as Wasm: a manifest signed inside the test, a subset of the shared vectors
//! (compiled in with `include_str!`), and bad input, which must come back as an error code and never
//! as a trap (a panic in Wasm is a trap, and fails the test).
#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use edge_coupons::{KeySet, Limits};
use serde_json::{json, Value};
use wasm_bindgen_test::wasm_bindgen_test;

const NOW: &str = "2026-11-23T12:00:00Z";

/// A result as JSON text.
trait ToJson {
    fn to_json(&self) -> String;
}

impl<T: serde::Serialize> ToJson for T {
    fn to_json(&self) -> String {
        common::to_json(self)
    }
}

use common::{load_jws, sign, sign_with};

fn shop() -> Value {
    json!({
        "version": 1,
        "id": "wasm-shop",
        "issued_at": "2026-11-01T00:00:00Z",
        "expires_at": "2026-12-31T00:00:00Z",
        "currency": "USD",
        "coupons": [
            {
                "id": "SHOES20", "name": "20% off shoes", "status": "active",
                "codes": { "type": "static", "code": "SHOES20" },
                "reward": {
                    "type": "percentage", "percent": "20",
                    "target": { "type": "products", "match": { "fact": "line.attributes.category", "op": "eq", "value": "shoes" } }
                }
            },
            {
                "id": "TEN", "name": "10% off", "status": "active",
                "codes": { "type": "static", "code": "TEN" },
                "reward": { "type": "percentage", "percent": "10", "target": { "type": "order" }, "max_discount": "5.00" }
            },
            {
                "id": "FREESHIP", "name": "Free shipping", "status": "active",
                "codes": { "type": "automatic" },
                "conditions": { "fact": "cart.subtotal", "op": "gte", "value": "50.00" },
                "reward": { "type": "percentage", "percent": "100", "target": { "type": "shipping" } }
            }
        ]
    })
}

fn request<T: serde::Deserialize<'static> + std::fmt::Debug>(v: &Value) -> T {
    common::request(v).unwrap()
}

#[wasm_bindgen_test]
fn a_manifest_signed_here_loads_and_evaluates() {
    let engine = load_jws(&sign(&shop()), NOW, Limits::default()).unwrap();
    assert_eq!(engine.manifest_id(), "wasm-shop");
    let req = json!({
        "now": NOW,
        "cart": {
            "currency": "USD",
            "lines": [
                { "id": "b", "product_id": "tee", "quantity": 2, "unit_price": "9.99" },
                { "id": "a", "product_id": "runner", "quantity": 1, "unit_price": "50.00", "attributes": { "category": "shoes" } }
            ],
            "shipping": { "amount": "4.95" }
        },
        "codes": ["ten", "shoes-20", "NOPE"]
    });
    let out: Value =
        serde_json::from_str(&engine.evaluate(&request(&req)).unwrap().to_json()).unwrap();
    // 20% of 50.00 = 10.00 on shoes; 10% of (40.00 + 19.98) = 6.00, capped at 5.00; shipping free.
    let expected = json!({
        "manifest_id": "wasm-shop",
        "lines": [
            { "id": "b", "original": "19.98", "discount": "1.67", "final": "18.31" },
            { "id": "a", "original": "50.00", "discount": "13.33", "final": "36.67" }
        ],
        "shipping": { "original": "4.95", "discount": "4.95", "final": "0.00" },
        "totals": { "subtotal": "69.98", "shipping": "4.95", "fees": "0.00", "discount": "19.95", "total": "54.98" },
        "applied": [
            { "coupon_id": "SHOES20", "code": "SHOES20", "discount": "10.00" },
            { "coupon_id": "TEN", "code": "TEN", "discount": "5.00" },
            { "coupon_id": "FREESHIP", "code": null, "automatic": true, "discount": "4.95" }
        ],
        "rejected": [ { "code": "NOPE", "reason": { "code": "UNKNOWN_CODE" } } ]
    });
    common::contains(&out, &expected, "result").unwrap();

    // The same request twice: the same bytes.
    assert_eq!(
        engine.evaluate(&request(&req)).unwrap().to_json(),
        engine.evaluate(&request(&req)).unwrap().to_json()
    );

    let tray: Value = serde_json::from_str(
        &engine
            .tray(&request(&json!({ "now": NOW })))
            .unwrap()
            .to_json(),
    )
    .unwrap();
    assert_eq!(tray.as_array().unwrap().len(), 3, "{tray}");

    let check: Value = serde_json::from_str(
        &engine
            .check_code(" shoes_20 ", &request(&json!({ "now": NOW })))
            .unwrap()
            .to_json(),
    )
    .unwrap();
    common::contains(
        &check,
        &json!({ "code": "SHOES20", "valid": true, "coupon_id": "SHOES20" }),
        "checkCode",
    )
    .unwrap();
}

/// A subset of tests/vectors, compiled in (there is no file system in Wasm).
const VECTORS: &[(&str, &str)] = &[
    ("001", include_str!("vectors/001-percentage-order.json")),
    (
        "005",
        include_str!("vectors/005-code-normalise-full-width.json"),
    ),
    ("006", include_str!("vectors/006-hidden-code-applies.json")),
    (
        "083",
        include_str!("vectors/083-discounted-shipping-half-up.json"),
    ),
    (
        "087",
        include_str!("vectors/087-cashback-percent-points.json"),
    ),
    ("091", include_str!("vectors/091-max-discount-cap.json")),
    (
        "101",
        include_str!("vectors/101-jpy-half-away-from-zero.json"),
    ),
    (
        "103",
        include_str!("vectors/103-kwd-allocation-remainder.json"),
    ),
    (
        "108",
        include_str!("vectors/108-stacking-product-then-order.json"),
    ),
    (
        "110",
        include_str!("vectors/110-stacking-order-then-shipping.json"),
    ),
    (
        "130",
        include_str!("vectors/130-tray-sorted-by-priority-then-expiry.json"),
    ),
    ("133", include_str!("vectors/133-checkcode-valid.json")),
    (
        "155",
        include_str!("vectors/155-invalid-amount-json-number.json"),
    ),
    (
        "164",
        include_str!("vectors/164-invalid-quantity-2-pow-53.json"),
    ),
    ("171", include_str!("vectors/171-currency-mismatch.json")),
    ("175", include_str!("vectors/175-code-invalid-10kb.json")),
    (
        "177",
        include_str!("vectors/177-limit-exceeded-cart-lines.json"),
    ),
    ("180", include_str!("vectors/180-amount-overflow.json")),
    ("191", include_str!("vectors/191-manifest-expired.json")),
];

fn play_vector(text: &str) -> Result<(), String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let now = v["now"].as_str().ok_or("no `now`")?;
    let op = v["op"].as_str().ok_or("no `op`")?;
    let limits = match v.get("limits") {
        Some(l) => {
            edge_coupons::input::from_json::<Limits>(&l.to_string()).map_err(|e| e.to_string())?
        }
        None => Limits::default(),
    };
    let outcome = load_jws(&sign(&v["manifest"]), now, limits).and_then(|engine| match op {
        "load" => Ok(Value::Null),
        _ => common::play(&engine, op, &v["input"], now),
    });
    let expect = &v["expect"];
    common::judge(op, outcome, expect)
}

#[wasm_bindgen_test]
fn shared_vectors_pass_in_wasm() {
    let failures: Vec<String> = VECTORS
        .iter()
        .filter_map(|(name, text)| play_vector(text).err().map(|e| format!("{name}: {e}")))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed in Wasm:\n{}",
        failures.len(),
        VECTORS.len(),
        failures.join("\n")
    );
}

fn load_error(jws: &str) -> String {
    load_jws(jws, NOW, Limits::default())
        .map(|_| ())
        .unwrap_err()
        .code()
        .to_string()
}

#[wasm_bindgen_test]
fn bad_manifests_are_errors_not_traps() {
    let good = sign(&shop());
    // One changed byte in the payload, and in the signature.
    let (head, sig) = good.rsplit_once('.').unwrap();
    let mut payload = head.to_string();
    let last = payload.pop().unwrap();
    payload.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(
        load_error(&format!("{payload}.{sig}")),
        "MANIFEST_SIGNATURE_INVALID"
    );
    let mut sig2 = sig.to_string();
    let first = sig2.remove(0);
    sig2.insert(0, if first == 'A' { 'B' } else { 'A' });
    assert_eq!(
        load_error(&format!("{head}.{sig2}")),
        "MANIFEST_SIGNATURE_INVALID"
    );
    assert_eq!(
        load_error(&sign_with(
            &serde_json::to_vec(&shop()).unwrap(),
            "someone-else"
        )),
        "MANIFEST_KEY_UNKNOWN"
    );
    for junk in ["", ".", "..", "a.b.c", "a.b.c.d", "\u{0}\u{ffff}", "é.é.é"] {
        assert_eq!(load_error(junk), "MANIFEST_MALFORMED", "{junk:?}");
    }
    // A signed payload that is not JSON, or not a manifest (docs/errors.md: MANIFEST_INVALID).
    assert_eq!(
        load_error(&sign_with(b"{not json", common::KID)),
        "MANIFEST_INVALID"
    );
    let mut unknown = shop();
    unknown["surprise"] = json!(true);
    assert_eq!(load_error(&sign(&unknown)), "MANIFEST_INVALID");
    // A key set that is not one.
    assert_eq!(
        KeySet::from_json("{\"keys\": 3}").unwrap_err().code(),
        "KEYSET_INVALID"
    );
}

#[wasm_bindgen_test]
fn bad_requests_are_errors_not_traps() {
    let engine = load_jws(&sign(&shop()), NOW, Limits::default()).unwrap();
    let cart = |lines: Value| json!({ "now": NOW, "cart": { "currency": "USD", "lines": lines } });
    let line = |q: Value, price: Value| json!([{ "id": "a", "product_id": "p", "quantity": q, "unit_price": price }]);
    let cases = [
        (json!({ "now": NOW }), "INVALID_REQUEST"),
        (json!([1, 2, 3]), "INVALID_REQUEST"),
        (cart(line(json!(1), json!("-1.00"))), "INVALID_AMOUNT"),
        (cart(line(json!(1), json!("1e3"))), "INVALID_AMOUNT"),
        (cart(line(json!(1), json!(12.5))), "INVALID_AMOUNT"),
        (cart(line(json!(0), json!("1.00"))), "INVALID_QUANTITY"),
        (cart(line(json!(1.5), json!("1.00"))), "INVALID_QUANTITY"),
        (
            json!({ "now": "yesterday", "cart": { "currency": "USD", "lines": [] } }),
            "INVALID_TIME",
        ),
        (
            json!({ "now": NOW, "cart": { "currency": "usd", "lines": [] } }),
            "UNKNOWN_CURRENCY",
        ),
    ];
    for (req, code) in cases {
        // Refused while the request is read (its types) or by the engine: an error code either way.
        let got = common::request::<edge_coupons::input::EvaluateRequest>(&req)
            .and_then(|r| engine.evaluate(&r).map(|e| e.to_json()));
        assert_eq!(
            got.as_ref().map_err(|e| e.code()),
            Err(code),
            "{req} gave {got:?}"
        );
    }
    // Bytes that are not JSON (or too deep) never reach the engine as a value.
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    for bytes in [
        &b""[..],
        b"{",
        b"\xff\xfe",
        b"{\"a\":1,\"a\":2}",
        b"nul",
        deep.as_bytes(),
    ] {
        let read = std::str::from_utf8(bytes)
            .ok()
            .map(edge_coupons::input::from_json::<edge_coupons::rules::Value>);
        assert!(!matches!(read, Some(Ok(_))), "{bytes:?}");
    }
    // Codes: an invalid one is an error for checkCode, a reason in evaluate.
    let ctx = request(&json!({ "now": NOW }));
    assert_eq!(
        engine
            .check_code("", &ctx)
            .map(|c| c.to_json())
            .unwrap_err()
            .code(),
        "CODE_INVALID"
    );
    assert_eq!(
        engine
            .check_code("ЅНОЕЅ20", &ctx)
            .map(|c| c.to_json())
            .unwrap_err()
            .code(),
        "CODE_INVALID"
    );
}
