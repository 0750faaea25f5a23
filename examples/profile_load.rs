//! Times loading a signed manifest natively, phase by phase, for profiling (`valgrind --tool=callgrind`).
//! Not a test. `cargo run --release --features sign --example profile_load -- PAYLOAD.json [N]`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use edge_coupons::time::parse_instant;
use edge_coupons::{Engine, KeySet, Limits};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let manifest = std::fs::read(&args[1]).expect("manifest payload JSON");
    let n: u32 = args.get(2).map_or(20, |s| s.parse().unwrap());
    let now = parse_instant("2026-11-23T12:00:00Z", "now").unwrap();
    let key = SigningKey::from_bytes(&[7; 32]);
    let jws = edge_coupons::signature::sign(&manifest, "k", &key.to_bytes());
    let x = URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes());
    let keys = KeySet::from_json(&format!(
        r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","kid":"k","x":"{x}"}}]}}"#
    ))
    .unwrap();
    let start = std::time::Instant::now();
    for _ in 0..n {
        let verified = edge_coupons::signature::verify(&jws, &keys).unwrap();
        std::hint::black_box(verified);
    }
    let verify = start.elapsed().as_secs_f64() * 1000.0 / f64::from(n);
    let start = std::time::Instant::now();
    for _ in 0..n {
        let engine = Engine::from_signed_manifest(&jws, &keys, now, Limits::default()).unwrap();
        std::hint::black_box(engine);
    }
    let load = start.elapsed().as_secs_f64() * 1000.0 / f64::from(n);
    println!("{load:.3} ms per load ({verify:.3} ms of it verifying and decoding)");
}
