//! Any bytes as an evaluate request (and as a tray/checkCode/distribute context, its `event` field
//! the event) against a manifest that
//! uses every concept: an error or a result, never a panic. The manifest comes from the vectors.
#![no_main]
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use edge_coupons::input::{from_json, EvaluateRequest, Event, Usage, UserContext};
use edge_coupons::time::parse_instant;
use edge_coupons::{Engine, KeySet, Limits};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
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

/// A distribute vector's input: `{ user, event, usage? }`.
#[derive(Deserialize)]
struct Distribute {
    user: UserContext,
    event: Event,
    #[serde(default)]
    usage: Option<Usage>,
}

fuzz_target!(|data: &[u8]| {
    let engine = engine();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Most requests the fuzzer makes would stop at a missing `now`; give them one.
    if let Ok(mut req) = from_json::<EvaluateRequest>(text) {
        req.now.get_or_insert_with(|| NOW.into());
        if let Ok(r) = engine.evaluate(&req) {
            let _ = serde_json::to_string(&r);
        }
    }
    if let Ok(mut ctx) = from_json::<UserContext>(text) {
        ctx.now.get_or_insert_with(|| NOW.into());
        if let Ok(r) = engine.tray(&ctx) {
            let _ = serde_json::to_string(&r);
        }
        if let Ok(r) = engine.check_code("SAVE10", &ctx) {
            let _ = serde_json::to_string(&r);
        }
    }
    if let Ok(mut d) = serde_json::from_str::<Distribute>(text) {
        d.user.now.get_or_insert_with(|| NOW.into());
        if let Ok(r) = engine.distribute(&d.user, &d.event, d.usage.as_ref()) {
            let _ = serde_json::to_string(&r);
        }
    }
});
