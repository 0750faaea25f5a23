//! The hostile-input catalogue (issue 8): each input an attacker or a broken client could send, with
//! the error code it must get. None may panic; inputs far past a limit are refused by the limit.
//!
//! The catalogue itself is shared vectors, `tests/vectors/5*-hostile-*.json`, so that it runs in
//! every layer (native, Node, workerd and Chromium) with the error's code and path: a 10 MB manifest,
//! 100,000 nested arrays, a million cart lines, a quantity a float would round to 1, odd amounts,
//! quantities, codes, currencies, times, JWS headers, user ids, events and flags. What stays here
//! needs more than a vector says: a message's words, and a result fed back into the next call.
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

fn cart() -> Value {
    json!({ "cart": { "currency": "USD", "lines": [
        { "id": "a", "product_id": "p", "quantity": 1, "unit_price": "9.99" }
    ] }, "codes": ["SAVE10"] })
}

fn base64_url(text: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    URL_SAFE_NO_PAD.encode(text)
}

#[test]
fn a_header_without_kid_says_so_and_one_that_is_not_base64url_is_refused() {
    let now = parse_instant(NOW, "now").unwrap();
    let jws = common::sign(&manifest());
    let parts: Vec<&str> = jws.split('.').collect();
    // Vectors 539 and 540 hold the code; the message must also say what is missing.
    for header in [r#"{"alg":"EdDSA"}"#, r#"{"alg":"EdDSA","kid":7}"#] {
        let no_kid = format!("{}.{}.{}", base64_url(header), parts[1], parts[2]);
        let err = Engine::from_signed_manifest(&no_kid, &common::keyset(), now, Limits::default())
            .unwrap_err();
        assert_eq!(err.code(), "MANIFEST_KEY_UNKNOWN");
        assert!(err.to_string().contains("has no `kid`"), "{err}");
    }
    // The header of another signed manifest with a character too many, on this payload.
    let other = common::sign_with(br#"{"version":1}"#, "test-key-1");
    let other_header = other.split('.').next().unwrap();
    let swapped = format!("{other_header}x.{}.{}", parts[1], parts[2]);
    let err = Engine::from_signed_manifest(&swapped, &common::keyset(), now, Limits::default())
        .unwrap_err();
    assert_eq!(err.code(), "MANIFEST_MALFORMED", "{err}");
}

#[test]
fn allocations_are_in_the_result_only_when_asked_for() {
    let engine = engine();
    for ok in [true, false] {
        let mut request = cart();
        request["allocations"] = json!(ok);
        let r = common::play(&engine, "evaluate", &request, NOW).unwrap();
        assert_eq!(r["applied"][0].get("allocations").is_some(), ok, "{r}");
    }
}

#[test]
fn an_order_edit_takes_a_previous_result_as_it_is_and_absent_leaves_the_result_as_it_was() {
    let engine = engine();
    let plain = common::play(&engine, "evaluate", &cart(), NOW).unwrap();
    assert!(
        plain.get("edit").is_none(),
        "no `edit` without `previous`: {plain}"
    );
    // The previous result's own entries are taken as they are (their other fields ignored).
    let mut request = cart();
    request["previous"] = json!({ "applied": plain["applied"], "lines": plain["lines"], "periods": plain["periods"] });
    let edited = common::play(&engine, "evaluate", &request, NOW).unwrap();
    assert_eq!(edited["edit"]["kept"][0]["change"], "0.00", "{edited}");
    assert_eq!(edited["edit"]["lines"][0]["change"], "0.00", "{edited}");
}
