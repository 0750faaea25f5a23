//! Plays the signed-manifest conformance vectors in tests/signed/ (written by
//! examples/gen_signed_vectors.rs): every file must give exactly the expected outcome. A missing or
//! unreadable vector fails the run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use edge_coupons::time::parse_instant;
use edge_coupons::{Engine, KeySet, Limits};

#[test]
fn signed_vectors_give_the_expected_outcome() {
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("tests/signed/expected.json").unwrap())
            .unwrap();
    let now = parse_instant(expected["now"].as_str().unwrap(), "now").unwrap();
    let keys =
        KeySet::from_json(&std::fs::read_to_string(expected["jwks"].as_str().unwrap()).unwrap())
            .unwrap();
    let vectors = expected["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 6, "the six kinds of the contract at least");
    let mut kinds = Vec::new();
    for v in vectors {
        let file = v["file"].as_str().unwrap();
        let jws = std::fs::read_to_string(format!("tests/signed/{file}")).unwrap();
        let got = Engine::from_signed_manifest(jws.trim_end(), &keys, now, Limits::default());
        match (&v["expect"]["error"], got) {
            (serde_json::Value::String(code), Err(e)) => {
                assert_eq!(e.code(), code, "{file}");
                kinds.push(code.clone());
            }
            (serde_json::Value::Null, Ok(engine)) => {
                assert_eq!(
                    engine.manifest_id(),
                    v["expect"]["manifest_id"].as_str().unwrap(),
                    "{file}"
                );
                kinds.push("ok".into());
            }
            (want, got) => panic!("{file}: expected {want}, got {:?}", got.map(|_| "ok")),
        }
    }
    for kind in [
        "ok",
        "MANIFEST_SIGNATURE_INVALID",
        "MANIFEST_KEY_UNKNOWN",
        "MANIFEST_EXPIRED",
        "MANIFEST_NOT_YET_VALID",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no vector for {kind}");
    }
}
