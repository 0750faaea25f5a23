//! Any bytes as an evaluate request (and as a tray/checkCode/distribute context, its `event` field
//! the event) against a manifest that
//! uses every concept: an error or a result, never a panic. The manifest comes from the vectors.
#![no_main]
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use edge_coupons::json::{parse, Source, ToJson};
use edge_coupons::rules::Value;
use edge_coupons::time::parse_instant;
use edge_coupons::{Engine, KeySet, Limits};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const MANIFEST: &[u8] = include_bytes!("../../docs/examples/demo-manifest.json");

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let secret = [7u8; 32];
        let x = URL_SAFE_NO_PAD.encode(SigningKey::from_bytes(&secret).verifying_key().to_bytes());
        let keys = KeySet::from_json(&format!(
            r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","kid":"k","x":"{x}"}}]}}"#
        ))
        .expect("key set");
        let jws = edge_coupons::signature::sign(MANIFEST, "k", &secret);
        let now = parse_instant(NOW, "now").expect("now");
        Engine::from_signed_manifest(&jws, &keys, now, Limits::default())
            .expect("demo manifest loads")
    })
}

// Inside the demo manifest's validity window.
const NOW: &str = "2026-01-15T12:00:00Z";

fuzz_target!(|data: &[u8]| {
    let engine = engine();
    if let Ok(mut tree) = parse(data, Source::Request) {
        // Most requests the fuzzer makes would stop at a missing `now`; give them one.
        if let Value::Map(m) = &mut tree {
            if m.get("now").is_none() {
                m.insert("now".into(), Value::Str(NOW.into()));
            }
        }
        if let Ok(r) = engine.evaluate(&tree) {
            let _ = r.to_json();
        }
        if let Ok(r) = engine.tray(&tree) {
            let _ = r.to_json();
        }
        if let Ok(r) = engine.check_code("SAVE10", &tree) {
            let _ = r.to_json();
        }
        let field = |k: &str| match &tree {
            Value::Map(m) => m.get(k).cloned(),
            _ => None,
        };
        // A distribute vector is `{ user, event, usage? }`: its `user` is the context.
        let ctx = match field("user") {
            Some(Value::Map(mut m)) => {
                if m.get("now").is_none() {
                    m.insert("now".into(), Value::Str(NOW.into()));
                }
                Value::Map(m)
            }
            _ => tree.clone(),
        };
        let event = field("event").unwrap_or(Value::Null);
        if let Ok(r) = engine.distribute(&ctx, &event, field("usage").as_ref()) {
            let _ = r.to_json();
        }
    }
});
