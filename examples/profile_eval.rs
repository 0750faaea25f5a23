//! Times `evaluate` natively on a request file, for profiling (`perf record`). Not a test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use edge_coupons::time::parse_instant;
use edge_coupons::{Engine, Limits};

mod support;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let manifest = std::fs::read(&args[1]).expect("manifest payload JSON");
    let request = std::fs::read(&args[2]).expect("request JSON");
    let n: u32 = args.get(3).map_or(200, |s| s.parse().unwrap());
    let now = parse_instant("2026-11-23T12:00:00Z", "now").unwrap();
    let (jws, keys) = support::signed(&manifest);
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
