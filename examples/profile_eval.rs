//! Times `evaluate` natively on a request file, for profiling (`perf record`). Not a test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use edge_coupons::time::parse_instant;
use edge_coupons::{Engine, KeySet, Limits};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let manifest = std::fs::read(&args[1]).expect("manifest payload JSON");
    let request = std::fs::read(&args[2]).expect("request JSON");
    let n: u32 = args.get(3).map_or(200, |s| s.parse().unwrap());
    let now = parse_instant("2026-11-23T12:00:00Z", "now").unwrap();
    let key = SigningKey::from_bytes(&[7; 32]);
    let jws = edge_coupons::signature::sign(&manifest, "k", &key.to_bytes());
    let x = URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes());
    let keys = KeySet::from_json(&format!(
        r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","kid":"k","x":"{x}"}}]}}"#
    ))
    .unwrap();
    let engine = Engine::from_signed_manifest(&jws, &keys, now, Limits::default()).unwrap();
    let start = std::time::Instant::now();
    for _ in 0..n {
        let req: edge_coupons::input::EvaluateRequest =
            edge_coupons::input::from_json(std::str::from_utf8(&request).unwrap()).unwrap();
        let out = engine.evaluate(&req).unwrap();
        std::hint::black_box(serde_json::to_string(&out).unwrap());
    }
    println!(
        "{:.3} ms per evaluate",
        start.elapsed().as_secs_f64() * 1000.0 / f64::from(n)
    );
}
