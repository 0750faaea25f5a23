//! Shared by the integration tests: the test-only key, signing, and playing a vector.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signer, SigningKey};
use edge_coupons::time::parse_instant;
use edge_coupons::{Engine, KeySet, Limits};
use serde::Deserialize;
use serde_json::Value;
use std::path::Path;

pub mod handoff;

pub const KID: &str = "test-key-1";

/// The committed test-only signing key (tests/keys), embedded so that the Wasm tests, which
/// have no file system, sign the same way.
pub fn signing_key() -> &'static SigningKey {
    // Read once: deriving the key costs as much as a signature in a debug build.
    static KEY: std::sync::OnceLock<SigningKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let jwk: Value =
            serde_json::from_str(include_str!("../keys/test-signing-key.jwk.json")).unwrap();
        let d: [u8; 32] = URL_SAFE_NO_PAD
            .decode(jwk["d"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        SigningKey::from_bytes(&d)
    })
}

pub fn keyset() -> KeySet {
    KeySet::from_json(include_str!("../keys/test-jwks.json")).unwrap()
}

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Signs payload bytes into a compact JWS with the test key, under header `kid`.
pub fn sign_with(payload: &[u8], kid: &str) -> String {
    let header = format!(r#"{{"alg":"EdDSA","kid":"{kid}"}}"#);
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let sig = signing_key().sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}

/// Signs payload bytes into a compact JWS with the test key.
pub fn sign_bytes(payload: &[u8]) -> String {
    sign_with(payload, KID)
}

pub fn sign(manifest: &Value) -> String {
    sign_bytes(&serde_json::to_vec(manifest).unwrap())
}

/// Loads a signed manifest at `now` with the test key set.
pub fn load_jws(jws: &str, now: &str, limits: Limits) -> Result<Engine, Box<edge_coupons::Error>> {
    Engine::from_signed_manifest(jws, &keyset(), parse_instant(now, "now")?, limits)
}

/// A vector's engine limits (`{ "max_cart_lines": 3 }`), or the defaults.
pub fn limits(limits: Option<&Value>) -> Result<Limits, Box<edge_coupons::Error>> {
    match limits {
        Some(l) => edge_coupons::input::from_json::<Limits>(&l.to_string()),
        None => Ok(Limits::default()),
    }
}

/// Loads a manifest payload (signed here) at `now`.
pub fn load(
    manifest: &Value,
    now: &str,
    limits: Option<&Value>,
) -> Result<Engine, Box<edge_coupons::Error>> {
    load_jws(&sign(manifest), now, self::limits(limits)?)
}

fn with_now(input: &Value, now: &str) -> Value {
    let mut v = input.clone();
    if let Value::Object(m) = &mut v {
        m.entry("now")
            .or_insert_with(|| Value::String(now.to_string()));
    }
    v
}

/// A typed request from a JSON value, read from its text the way every caller's is. The text is
/// leaked: an evaluate request borrows from it (a test's requests are small and few).
///
/// The same value handed in flat, as the JS skin hands in plain objects (src/intake.rs), must
/// read the same, and be refused where the text is.
pub fn request<T: Deserialize<'static> + std::fmt::Debug>(
    v: &Value,
) -> Result<T, Box<edge_coupons::Error>> {
    let read = edge_coupons::input::from_json(String::leak(serde_json::to_string(v).unwrap()));
    let (text, units, words) = handoff::flatten(v);
    let flat = edge_coupons::intake::read::<T>(String::leak(text), units, Vec::leak(words));
    match (&read, &flat) {
        (Ok(a), Ok(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}"), "read flat: {v}"),
        (Err(_), Err(_)) => {}
        _ => panic!("the text read {read:?}, flat {flat:?}: {v}"),
    }
    read
}

/// A result as JSON.
pub fn to_json<T: serde::Serialize>(r: &T) -> String {
    serde_json::to_string(r).unwrap()
}

/// Plays one operation the way every skin does; the result as JSON.
pub fn play(
    engine: &Engine,
    op: &str,
    input: &Value,
    now: &str,
) -> Result<Value, Box<edge_coupons::Error>> {
    let out = match op {
        "evaluate" => handoff::to_value(engine.evaluate(&request(&with_now(input, now))?)?),
        "tray" => handoff::to_value(engine.tray(&request(&with_now(input, now))?)?),
        "checkCode" => {
            let code = input["code"]
                .as_str()
                .expect("checkCode input needs a string `code`");
            let user = with_now(
                input
                    .get("user")
                    .unwrap_or(&Value::Object(Default::default())),
                now,
            );
            handoff::to_value(engine.check_code(code, &request(&user)?)?)
        }
        "distribute" => {
            let user = with_now(
                input
                    .get("user")
                    .unwrap_or(&Value::Object(Default::default())),
                now,
            );
            let event = input
                .get("event")
                .expect("distribute input needs an `event`");
            let usage = input.get("usage").map(request).transpose()?;
            handoff::to_value(engine.distribute(
                &request(&user)?,
                &request(event)?,
                usage.as_ref(),
            )?)
        }
        other => panic!("unknown op `{other}`"),
    };
    Ok(out.unwrap())
}

/// Judges a played vector: the outcome must be the expected error code (at `expect.path` when the
/// vector gives one), or contain the expected result (tests/vectors/README.md).
pub fn judge(
    op: &str,
    outcome: Result<Value, Box<edge_coupons::Error>>,
    expect: &Value,
) -> Result<(), String> {
    match (outcome, expect.get("error"), expect.get("result")) {
        (Err(e), Some(code), None) if code.as_str() == Some(e.code()) => {
            match expect.get("path").map(|p| (p.as_str(), e.path())) {
                Some((want, got)) if want != got => {
                    Err(format!("failed at path {got:?}, expected {want:?} ({e})"))
                }
                _ => Ok(()),
            }
        }
        (Err(e), _, _) => Err(format!("failed with {} ({e})", e.code())),
        (Ok(r), Some(code), None) => Err(format!("expected error {code}, got {r}")),
        (Ok(r), None, Some(expected)) => contains(&r, expected, "result"),
        (Ok(Value::Null), None, None) if op == "load" => Ok(()),
        _ => Err("`expect` needs exactly one of `error` or `result`".into()),
    }
}

/// Every key of `expected` must match in `actual`; arrays match element by element.
pub fn contains(actual: &Value, expected: &Value, path: &str) -> Result<(), String> {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            for (k, ev) in e {
                let av = a.get(k).ok_or_else(|| {
                    format!("{path}.{k}: missing (have {})", Value::Object(a.clone()))
                })?;
                contains(av, ev, &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(e)) => {
            if a.len() != e.len() {
                return Err(format!(
                    "{path}: {} items, expected {}: {}",
                    a.len(),
                    e.len(),
                    Value::Array(a.clone())
                ));
            }
            a.iter()
                .zip(e)
                .enumerate()
                .try_for_each(|(i, (av, ev))| contains(av, ev, &format!("{path}[{i}]")))
        }
        (a, e) if a == e => Ok(()),
        (a, e) => Err(format!("{path}: got {a}, expected {e}")),
    }
}
