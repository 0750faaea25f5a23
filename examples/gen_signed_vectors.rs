//! Writes the signed-manifest conformance vectors: `tests/signed/*.jws` and
//! `tests/signed/expected.json`, signed with the committed test-only key (tests/keys/).
//!
//!     cargo run --features sign --example gen_signed_vectors [-- OUT_DIR]
//!
//! Deterministic (Ed25519 signatures are, and every time is fixed), so `make test` regenerates them
//! and fails on any difference from what is committed (`git diff --exit-code tests/signed`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use edge_coupons::signature::sign;
use std::fmt::Write as _;

/// The time every vector is checked at.
const NOW: &str = "2026-01-15T12:00:00Z";

fn payload(id: &str, issued_at: &str, expires_at: &str) -> String {
    format!(
        r#"{{"version":1,"id":"{id}","issued_at":"{issued_at}","expires_at":"{expires_at}","currency":"USD","coupons":[{{"id":"save-10","name":"10% off","status":"active","codes":{{"type":"static","code":"SAVE10"}},"reward":{{"type":"percentage","percent":"10","target":{{"type":"order"}}}}}}]}}"#
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tests/signed".into());
    let key: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        "tests/keys/test-signing-key.jwk.json",
    )?)?;
    let kid = key["kid"].as_str().ok_or("the test key has no kid")?;
    let d: [u8; 32] = B64
        .decode(key["d"].as_str().ok_or("the test key has no d")?)
        .map_err(|e| format!("d: {e}"))?
        .try_into()
        .map_err(|_| "d is not 32 bytes")?;
    // Another key, fixed so the output stays the same: it signs under the test key's kid.
    let other = [42u8; 32];

    let good = payload(
        "signed-vectors",
        "2026-01-01T00:00:00Z",
        "2026-02-01T00:00:00Z",
    );
    let valid = sign(good.as_bytes(), kid, &d);
    // One changed character in the middle of the payload part: still base64url, new bytes.
    let mut tampered = valid.clone().into_bytes();
    let mid = valid.find('.').ok_or("no dot")? + (valid.len() / 3);
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered)?;
    let truncated = valid.get(..valid.len() - 4).ok_or("short")?.to_string();
    let none = format!(
        "{}.{}.",
        B64.encode(format!(r#"{{"alg":"none","kid":"{kid}"}}"#)),
        B64.encode(&good)
    );

    let vectors: Vec<(&str, &str, String, Result<&str, &str>)> = vec![
        (
            "valid",
            "signed with the test key: loads",
            valid.clone(),
            Ok("signed-vectors"),
        ),
        (
            "tampered-byte",
            "one character of the payload part changed after signing",
            tampered,
            Err("MANIFEST_SIGNATURE_INVALID"),
        ),
        (
            "wrong-key",
            "signed by another key under the test key's kid",
            sign(good.as_bytes(), kid, &other),
            Err("MANIFEST_SIGNATURE_INVALID"),
        ),
        (
            "unknown-kid",
            "a kid that is not in the key set",
            sign(good.as_bytes(), "no-such-key", &d),
            Err("MANIFEST_KEY_UNKNOWN"),
        ),
        (
            "expired",
            "expires_at before now",
            sign(
                payload(
                    "signed-expired",
                    "2025-12-01T00:00:00Z",
                    "2026-01-10T00:00:00Z",
                )
                .as_bytes(),
                kid,
                &d,
            ),
            Err("MANIFEST_EXPIRED"),
        ),
        (
            "not-yet-valid",
            "issued_at more than 300 s after now",
            sign(
                payload(
                    "signed-future",
                    "2026-01-20T00:00:00Z",
                    "2026-02-20T00:00:00Z",
                )
                .as_bytes(),
                kid,
                &d,
            ),
            Err("MANIFEST_NOT_YET_VALID"),
        ),
        (
            "truncated-signature",
            "the last 4 characters of the signature cut off",
            truncated,
            Err("MANIFEST_SIGNATURE_INVALID"),
        ),
        (
            "alg-none",
            "an unsigned JWS with alg none",
            none,
            Err("MANIFEST_ALGORITHM_UNSUPPORTED"),
        ),
    ];

    std::fs::create_dir_all(&out)?;
    let mut expected = format!(
        "{{\n  \"now\": \"{NOW}\",\n  \"jwks\": \"tests/keys/test-jwks.json\",\n  \"vectors\": [\n"
    );
    for (i, (name, about, jws, result)) in vectors.iter().enumerate() {
        std::fs::write(format!("{out}/{name}.jws"), format!("{jws}\n"))?;
        let expect = match result {
            Ok(id) => format!(r#"{{ "ok": true, "manifest_id": "{id}" }}"#),
            Err(code) => format!(r#"{{ "error": "{code}" }}"#),
        };
        let comma = if i + 1 < vectors.len() { "," } else { "" };
        writeln!(
            expected,
            "    {{ \"file\": \"{name}.jws\", \"about\": \"{about}\", \"expect\": {expect} }}{comma}"
        )?;
    }
    expected.push_str("  ]\n}\n");
    std::fs::write(format!("{out}/expected.json"), expected)?;
    eprintln!("wrote {} vectors to {out}", vectors.len());
    Ok(())
}
