//! The hostile-input catalogue (issue 8): each input an attacker or a broken client could send, with
//! the error code it must get. None may panic; inputs far past a limit are refused by the limit.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use edge_coupons::time::parse_instant;
use edge_coupons::{Engine, Limits};
use serde_json::{json, Value};

const NOW: &str = "2026-11-23T12:00:00Z";

fn manifest() -> Value {
    json!({
        "version": 1, "id": "hostile", "issued_at": "2026-11-01T00:00:00Z",
        "expires_at": "2026-12-31T00:00:00Z", "currency": "USD",
        "coupons": [{ "id": "SAVE10", "name": "10% off", "status": "active",
            "codes": { "type": "static", "code": "SAVE10" },
            "reward": { "type": "percentage", "percent": "10", "target": { "type": "order" } } }]
    })
}

fn engine() -> Engine {
    common::load(&manifest(), NOW, None).unwrap()
}

fn cart_with(line: Value) -> Value {
    json!({ "cart": { "currency": "USD", "lines": [line] }, "codes": ["SAVE10"] })
}

fn line(price: Value, quantity: Value) -> Value {
    json!({ "id": "a", "product_id": "p", "quantity": quantity, "unit_price": price })
}

/// Evaluates JSON text (not a serde value: some inputs are not representable as one).
fn evaluate_text(engine: &Engine, text: &str) -> Result<(), String> {
    let request: edge_coupons::input::EvaluateRequest =
        edge_coupons::input::from_json(text).map_err(|e| e.code().to_string())?;
    engine
        .evaluate(&request)
        .map(|_| ())
        .map_err(|e| e.code().to_string())
}

fn expect_code(engine: &Engine, request: &Value, code: &str) {
    match common::play(engine, "evaluate", request, NOW) {
        Ok(r) => panic!("expected {code}, got a result: {r}"),
        Err(e) => assert_eq!(e.code(), code, "{e}"),
    }
}

#[test]
fn a_ten_megabyte_manifest_is_refused_before_anything_is_parsed() {
    let jws = format!(
        "{}.{}.{}",
        "e".repeat(16),
        "x".repeat(10 * 1024 * 1024),
        "s".repeat(86)
    );
    let now = parse_instant(NOW, "now").unwrap();
    let err =
        Engine::from_signed_manifest(&jws, &common::keyset(), now, Limits::default()).unwrap_err();
    assert_eq!(err.code(), "LIMIT_EXCEEDED");
}

#[test]
fn deep_nesting_is_refused_without_exhausting_the_stack() {
    // 100,000 levels of JSON arrays in a request, and rules nested past the rule depth.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        evaluate_text(&engine(), &deep),
        Err("INVALID_REQUEST".into())
    );
    let mut rule = json!({ "fact": "cart.subtotal", "op": "gte", "value": "1" });
    for _ in 0..40 {
        rule = json!({ "not": rule });
    }
    let mut m = manifest();
    m["coupons"][0]["conditions"] = rule;
    assert_eq!(
        common::load(&m, NOW, None).err().map(|e| e.code()),
        Some("MANIFEST_INVALID")
    );
}

#[test]
fn a_quantity_a_float_would_round_to_one_is_refused_from_its_digits() {
    let text = format!(
        r#"{{"now":"{NOW}","cart":{{"currency":"USD","lines":[{{"id":"a","product_id":"p","quantity":1.0000000000000001,"unit_price":"1.00"}}]}}}}"#
    );
    let request: Result<edge_coupons::input::EvaluateRequest, _> =
        edge_coupons::input::from_json(&text);
    let e = engine().evaluate(&request.unwrap()).unwrap_err();
    assert_eq!(e.code(), "INVALID_QUANTITY", "{e}");
    assert_eq!(e.path(), Some("cart.lines[0].quantity"), "{e}");
}

#[test]
fn a_million_cart_lines_hit_the_line_limit() {
    let lines = vec!["{}"; 1_000_000].join(",");
    let text = format!(r#"{{"now":"{NOW}","cart":{{"currency":"USD","lines":[{lines}]}}}}"#);
    assert_eq!(
        evaluate_text(&engine(), &text),
        Err("LIMIT_EXCEEDED".into())
    );
}

#[test]
fn odd_amounts_are_invalid() {
    let engine = engine();
    for price in [
        "NaN",
        "Infinity",
        "1e400",
        "-0",
        "-1.00",
        "0.123456789012345678901234567890",
        " 1.00",
        "1,00",
        "",
    ] {
        expect_code(
            &engine,
            &cart_with(line(json!(price), json!(1))),
            "INVALID_AMOUNT",
        );
    }
    // A JSON number for money, and numbers past the exact range, in raw text.
    expect_code(
        &engine,
        &cart_with(line(json!(12.5), json!(1))),
        "INVALID_AMOUNT",
    );
    let raw = format!(
        r#"{{"now":"{NOW}","cart":{{"currency":"USD","lines":[{{"id":"a","product_id":"p","quantity":1,"unit_price":1e400}}]}}}}"#
    );
    assert_eq!(evaluate_text(&engine, &raw), Err("INVALID_REQUEST".into()));
}

#[test]
fn odd_quantities_are_invalid() {
    let engine = engine();
    for q in [
        json!(0),
        json!(-1),
        json!(2.5),
        json!(9_007_199_254_740_992u64),
        json!("2"),
    ] {
        expect_code(
            &engine,
            &cart_with(line(json!("1.00"), q)),
            "INVALID_QUANTITY",
        );
    }
    // null means absent (docs/manifest.md), so it is a missing field.
    expect_code(
        &engine,
        &cart_with(line(json!("1.00"), json!(null))),
        "INVALID_REQUEST",
    );
}

#[test]
fn duplicate_line_ids_are_refused() {
    let req = json!({ "cart": { "currency": "USD", "lines": [line(json!("1.00"), json!(1)), line(json!("2.00"), json!(1))] } });
    expect_code(&engine(), &req, "DUPLICATE_LINE_ID");
}

#[test]
fn codes_with_look_alikes_or_of_10_kb_are_invalid_and_zero_width_is_ignored() {
    let engine = engine();
    let with_code = |code: &str| json!({ "cart": { "currency": "USD", "lines": [line(json!("10.00"), json!(1))] }, "codes": [code] });
    for code in [
        "SАVE10",
        "ЅAVE10",
        "SAVE１０\u{0301}",
        &"A".repeat(10 * 1024),
        "💸",
    ] {
        expect_code(&engine, &with_code(code), "CODE_INVALID");
    }
    // Zero-width and full-width characters normalise to the real code.
    let r = common::play(
        &engine,
        "evaluate",
        &with_code("S\u{200B}AVE\u{FEFF}１０"),
        NOW,
    )
    .unwrap();
    assert_eq!(r["applied"][0]["code"], "SAVE10");
}

#[test]
fn unknown_and_mixed_currencies_are_refused() {
    let engine = engine();
    let req =
        |c: &str| json!({ "cart": { "currency": c, "lines": [line(json!("1.00"), json!(1))] } });
    expect_code(&engine, &req("XYZ"), "UNKNOWN_CURRENCY");
    expect_code(&engine, &req("usd"), "UNKNOWN_CURRENCY");
    expect_code(&engine, &req("EUR"), "CURRENCY_MISMATCH");
}

#[test]
fn extreme_times_are_refused_cleanly() {
    let engine = engine();
    let mut req = cart_with(line(json!("1.00"), json!(1)));
    req["now"] = json!("9999-12-31T23:59:59Z");
    expect_code(&engine, &req, "MANIFEST_EXPIRED");
    for bad in [
        "10000-01-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-11-23T24:00:00Z",
        "2026-11-23T12:00:00+24:00",
    ] {
        req["now"] = json!(bad);
        expect_code(&engine, &req, "INVALID_TIME");
    }
}

#[test]
fn a_none_algorithm_and_a_swapped_header_are_refused() {
    let now = parse_instant(NOW, "now").unwrap();
    let keys = common::keyset();
    let jws = common::sign(&manifest());
    let parts: Vec<&str> = jws.split('.').collect();
    let none_header = base64_url(r#"{"alg":"none","kid":"test-key-1"}"#);
    let none = format!("{none_header}.{}.", parts[1]);
    let err = Engine::from_signed_manifest(&none, &keys, now, Limits::default()).unwrap_err();
    assert_eq!(err.code(), "MANIFEST_ALGORITHM_UNSUPPORTED");
    // The header of another signed manifest, with this one's payload and signature.
    let other = common::sign_with(br#"{"version":1}"#, "test-key-1");
    let other_header = other.split('.').next().unwrap();
    let swapped = format!("{other_header}x.{}.{}", parts[1], parts[2]);
    let err = Engine::from_signed_manifest(&swapped, &keys, now, Limits::default()).unwrap_err();
    assert!(
        matches!(
            err.code(),
            "MANIFEST_SIGNATURE_INVALID" | "MANIFEST_MALFORMED"
        ),
        "{}",
        err.code()
    );
    let header_of_other_kid = base64_url(r#"{"alg":"EdDSA","kid":"test-key-1","typ":"JWT"}"#);
    let swapped = format!("{header_of_other_kid}.{}.{}", parts[1], parts[2]);
    let err = Engine::from_signed_manifest(&swapped, &keys, now, Limits::default()).unwrap_err();
    assert_eq!(err.code(), "MANIFEST_SIGNATURE_INVALID");
}

#[test]
fn a_header_without_kid_says_so() {
    let now = parse_instant(NOW, "now").unwrap();
    let jws = common::sign(&manifest());
    let parts: Vec<&str> = jws.split('.').collect();
    for header in [r#"{"alg":"EdDSA"}"#, r#"{"alg":"EdDSA","kid":7}"#] {
        let no_kid = format!("{}.{}.{}", base64_url(header), parts[1], parts[2]);
        let err = Engine::from_signed_manifest(&no_kid, &common::keyset(), now, Limits::default())
            .unwrap_err();
        assert_eq!(err.code(), "MANIFEST_KEY_UNKNOWN");
        assert!(err.to_string().contains("has no `kid`"), "{err}");
    }
}

/// A user id is 1 to 128 bytes of UTF-8 (the Worker builds storage keys from it): 170 CJK
/// characters are 510 bytes, under the old 256-character limit but far over the byte limit.
#[test]
fn user_ids_are_bounded_in_bytes() {
    let engine = engine();
    let request = |id: &str| json!({ "cart": { "currency": "USD", "lines": [line(json!("1.00"), json!(1))] }, "user": { "id": id } });
    for id in ["a".repeat(128), "\u{4e2d}".repeat(42)] {
        common::play(&engine, "evaluate", &request(&id), NOW).unwrap();
    }
    for id in [
        String::new(),
        "a".repeat(129),
        "\u{4e2d}".repeat(43),
        "\u{4e2d}".repeat(170),
    ] {
        match common::play(&engine, "evaluate", &request(&id), NOW) {
            Ok(r) => panic!(
                "user id of {} bytes: expected INVALID_REQUEST, got {r}",
                id.len()
            ),
            Err(e) => {
                assert_eq!(e.code(), "INVALID_REQUEST", "{e}");
                assert_eq!(e.path(), Some("user.id"), "{e}");
            }
        }
    }
}

fn base64_url(text: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    URL_SAFE_NO_PAD.encode(text)
}

#[test]
fn hostile_events_get_error_codes_or_answers_never_panics() {
    let engine = common::load(
        &serde_json::from_str(
            &std::fs::read_to_string(common::root().join("docs/examples/demo-manifest.json"))
                .unwrap(),
        )
        .unwrap(),
        "2026-01-15T12:00:00Z",
        None,
    )
    .unwrap();
    let now = "2026-01-15T12:00:00Z";
    let deep = format!("{}1{}", "{\"a\":".repeat(80), "}".repeat(80));
    let cases = [
        (
            json!({ "name": "x".repeat(10_000), "at": now }),
            Some("INVALID_REQUEST"),
        ),
        (json!({ "name": "cart_abandoned" }), Some("INVALID_REQUEST")),
        (
            json!({ "name": "cart_abandoned", "at": "not a time" }),
            Some("INVALID_TIME"),
        ),
        (
            json!({ "name": "cart_abandoned", "at": now, "properties": [1, 2] }),
            Some("INVALID_REQUEST"),
        ),
        (
            json!({ "name": "cart_abandoned", "at": now, "id": "" }),
            Some("INVALID_REQUEST"),
        ),
        (json!("cart_abandoned"), Some("INVALID_REQUEST")),
        // Far-off times and odd property values are answered, never trapped on.
        (
            json!({ "name": "cart_abandoned", "at": "9999-12-31T23:30:00Z", "properties": { "cart_value": "1e400" } }),
            None,
        ),
        (
            json!({ "name": "cart_abandoned", "at": "0000-01-01T00:00:00Z", "properties": { "cart_value": 99.5 } }),
            None,
        ),
    ];
    for (event, code) in cases {
        let input = json!({ "user": { "id": "u" }, "event": event });
        match (common::play(&engine, "distribute", &input, now), code) {
            (Ok(_), None) => {}
            (Err(e), Some(code)) => assert_eq!(e.code(), code, "{event}: {e}"),
            (outcome, _) => panic!("{event}: expected {code:?}, got {outcome:?}"),
        }
    }
    let tree = edge_coupons::input::from_json::<edge_coupons::input::Event>(&format!(
        r#"{{"name":"cart_abandoned","at":"{now}","properties":{deep}}}"#
    ));
    assert!(
        tree.is_err(),
        "80 levels of properties are refused by the reader"
    );
}

#[test]
fn an_allocations_flag_that_is_not_a_boolean_is_invalid_with_its_path() {
    let engine = engine();
    // null is absent, as for every optional field.
    for bad in [json!("yes"), json!(1), json!([true]), json!({})] {
        let mut request = cart_with(line(json!("9.99"), json!(1)));
        request["allocations"] = bad.clone();
        match common::play(&engine, "evaluate", &request, NOW) {
            Ok(r) => panic!("allocations {bad}: expected INVALID_REQUEST, got {r}"),
            Err(e) => {
                assert_eq!(e.code(), "INVALID_REQUEST", "{bad}: {e}");
                assert_eq!(e.path(), Some("allocations"), "{bad}: {e}");
            }
        }
    }
    for ok in [true, false] {
        let mut request = cart_with(line(json!("9.99"), json!(1)));
        request["allocations"] = json!(ok);
        let r = common::play(&engine, "evaluate", &request, NOW).unwrap();
        assert_eq!(r["applied"][0].get("allocations").is_some(), ok, "{r}");
    }
}

#[test]
fn an_automatic_flag_that_is_not_a_boolean_is_invalid_with_its_path() {
    let engine = engine();
    for bad in [json!("no"), json!(0), json!([false]), json!({})] {
        let mut request = cart_with(line(json!("9.99"), json!(1)));
        request["automatic"] = bad.clone();
        match common::play(&engine, "evaluate", &request, NOW) {
            Ok(r) => panic!("automatic {bad}: expected INVALID_REQUEST, got {r}"),
            Err(e) => {
                assert_eq!(e.code(), "INVALID_REQUEST", "{bad}: {e}");
                assert_eq!(e.path(), Some("automatic"), "{bad}: {e}");
            }
        }
    }
}

#[test]
fn an_order_edit_is_checked_with_its_paths_and_absent_leaves_the_result_as_it_was() {
    let engine = engine();
    let plain = common::play(
        &engine,
        "evaluate",
        &cart_with(line(json!("9.99"), json!(1))),
        NOW,
    )
    .unwrap();
    assert!(
        plain.get("edit").is_none(),
        "no `edit` without `previous`: {plain}"
    );
    let cases = [
        (
            json!({ "applied": [{ "coupon_id": "SAVE10", "discount": 1 }] }),
            "INVALID_AMOUNT",
            "previous.applied[0].discount",
        ),
        (
            json!({ "applied": [{ "coupon_id": "SAVE10", "code": "S€VE", "discount": "1.00" }] }),
            "CODE_INVALID",
            "previous.applied[0].code",
        ),
        (
            json!({ "applied": [{ "coupon_id": "SAVE10", "discount": "1.00" }, { "coupon_id": "SAVE10", "discount": "1.00" }] }),
            "INVALID_REQUEST",
            "previous.applied[1].coupon_id",
        ),
        (
            json!({ "applied": [], "lines": [{ "id": "a", "discount": "1.001" }] }),
            "INVALID_AMOUNT",
            "previous.lines[0].discount",
        ),
        (
            json!({ "applied": [], "extra": true }),
            "INVALID_REQUEST",
            "previous.extra",
        ),
        (json!({ "lines": [] }), "INVALID_REQUEST", "previous"),
    ];
    for (previous, code, path) in cases {
        let mut request = cart_with(line(json!("9.99"), json!(1)));
        request["previous"] = previous.clone();
        match common::play(&engine, "evaluate", &request, NOW) {
            Ok(r) => panic!("previous {previous}: expected {code}, got {r}"),
            Err(e) => {
                assert_eq!(e.code(), code, "{previous}: {e}");
                assert_eq!(e.path(), Some(path), "{previous}: {e}");
            }
        }
    }
    // The previous result's own entries are taken as they are (their other fields ignored).
    let mut request = cart_with(line(json!("9.99"), json!(1)));
    request["previous"] = json!({ "applied": plain["applied"], "lines": plain["lines"], "periods": plain["periods"] });
    let edited = common::play(&engine, "evaluate", &request, NOW).unwrap();
    assert_eq!(edited["edit"]["kept"][0]["change"], "0.00", "{edited}");
    assert_eq!(edited["edit"]["lines"][0]["change"], "0.00", "{edited}");
}

#[test]
fn objects_sent_as_lists_are_invalid_at_their_path() {
    // A derived struct alone would read a list as its fields in order: a line as
    // ["a", "p", 1, "9.99"] would be priced. Every request object must be an object.
    let engine = engine();
    let mut request = cart_with(line(json!("9.99"), json!(1)));
    request["cart"]["lines"][0] = json!(["a", "p", 1, "9.99"]);
    let e = common::play(&engine, "evaluate", &request, NOW).unwrap_err();
    assert_eq!(
        (e.code(), e.path()),
        ("INVALID_REQUEST", Some("cart.lines[0]")),
        "{e}"
    );
    let mut request = cart_with(line(json!("9.99"), json!(1)));
    request["usage"] = json!([]);
    let e = common::play(&engine, "evaluate", &request, NOW).unwrap_err();
    assert_eq!(
        (e.code(), e.path()),
        ("INVALID_REQUEST", Some("usage")),
        "{e}"
    );
}
