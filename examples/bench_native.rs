//! Native counterpart of bench/eval.mjs: times parse + evaluate + result JSON for the same grid of
//! fixtures (written by bench/dump-fixtures.mjs), so that the Node numbers can be set beside native
//! ones. `cargo run --release --example bench_native -- FIXTURES_DIR OUT.json [BUDGET_MS]`.
//! A benchmark, not a test: it never asserts on a number.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use edge_coupons::time::parse_instant;
use edge_coupons::{Engine, KeySet, Limits};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

struct Stats {
    iterations: usize,
    p50: f64,
    p99: f64,
    mean: f64,
}

/// Milliseconds per call: calibrate, warm up, then measure within `budget_ms` (5 to 2000 calls).
fn time(mut f: impl FnMut(), budget_ms: f64) -> Stats {
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        f();
    }
    for _ in 0..3 {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64() * 1e3);
    }
    let n = ((budget_ms / best.max(1e-6)) as usize).clamp(5, 2000);
    for _ in 0..n.div_ceil(10).min(50) {
        f();
    }
    let mut samples: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    let pct = |p: f64| samples[((p / 100.0 * n as f64) as usize).min(n - 1)];
    Stats {
        iterations: n,
        p50: pct(50.0),
        p99: pct(99.0),
        mean: samples.iter().sum::<f64>() / n as f64,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(args.get(1).expect("fixtures dir"));
    let out = args.get(2).expect("output JSON path");
    let budget_ms: f64 = args.get(3).map_or(2500.0, |s| s.parse().unwrap());
    let grid = std::fs::read_to_string(dir.join("grid.txt")).expect("grid.txt");
    let mut rows = grid.lines().map(|l| {
        l.split_whitespace()
            .map(|n| n.parse::<usize>().unwrap())
            .collect::<Vec<_>>()
    });
    let (lines, coupons) = (rows.next().unwrap(), rows.next().unwrap());

    let now = parse_instant("2026-11-23T12:00:00Z", "now").unwrap();
    let key = SigningKey::from_bytes(&[7; 32]);
    let x = URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes());
    let keys = KeySet::from_json(&format!(
        r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","kid":"k","x":"{x}"}}]}}"#
    ))
    .unwrap();

    let mut cells = Vec::new();
    for &c in &coupons {
        let manifest = std::fs::read(dir.join(format!("manifest-{c}.json"))).unwrap();
        let jws = edge_coupons::signature::sign(&manifest, "k", &key.to_bytes());
        let t = Instant::now();
        let engine = Engine::from_signed_manifest(&jws, &keys, now, Limits::default()).unwrap();
        let load_ms = t.elapsed().as_secs_f64() * 1e3;
        for &l in &lines {
            let request = std::fs::read(dir.join(format!("request-{l}-{c}.json"))).unwrap();
            // What one JS evaluate does inside the Wasm: read the request text, price, write JSON.
            let s = time(
                || {
                    let req: edge_coupons::input::EvaluateRequest =
                        edge_coupons::input::from_json(std::str::from_utf8(&request).unwrap())
                            .unwrap();
                    let res = engine.evaluate(&req).unwrap();
                    std::hint::black_box(serde_json::to_string(&res).unwrap());
                },
                budget_ms,
            );
            println!(
                "native {l:>4} lines x {c:>4} coupons: p50 {:.4} ms, p99 {:.4} ms ({} iterations)",
                s.p50, s.p99, s.iterations
            );
            cells.push(format!(
                r#"{{"lines":{l},"coupons":{c},"iterations":{},"p50":{},"p99":{},"mean":{},"loadMs":{load_ms}}}"#,
                s.iterations, s.p50, s.p99, s.mean
            ));
        }
    }
    let mut json = String::new();
    write!(
        json,
        r#"{{"budgetMs":{budget_ms},"profile":"{}","grid":[{}]}}"#,
        std::env::var("BENCH_NATIVE_PROFILE").unwrap_or_else(|_| "release".into()),
        cells.join(",")
    )
    .unwrap();
    std::fs::write(out, json + "\n").unwrap();
}
