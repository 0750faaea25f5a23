//! Times loading a signed manifest natively, phase by phase, for profiling (`valgrind --tool=callgrind`).
//! Not a test. `cargo run --release --features sign --example profile_load -- PAYLOAD.json [N]`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use edge_coupons::time::parse_instant;
use edge_coupons::{Engine, Limits};

mod support;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let manifest = std::fs::read(&args[1]).expect("manifest payload JSON");
    let n: u32 = args.get(2).map_or(20, |s| s.parse().unwrap());
    let now = parse_instant("2026-11-23T12:00:00Z", "now").unwrap();
    let (jws, keys) = support::signed(&manifest);
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
