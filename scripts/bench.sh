#!/usr/bin/env bash
# `make bench`: every benchmark of docs/benchmarks.md, then the report. Results (JSON) go to
# target/bench/; bench/report.mjs turns them into docs/benchmarks.md and docs/benchmarks-scaling.svg.
# A step that fails is reported as missing in the report; numbers never fail the run.
# BENCH_BUDGET_MS (default 1500) bounds each timed cell; BENCH_QUICK=1 uses 300 for a smoke run;
# BENCH_NATIVE_O3=1 adds a native grid built at opt-level 3 (one more native build).
source "$(dirname "$0")/common.sh"

OUT="${BENCH_OUT:-$ROOT/target/bench}"
export BENCH_OUT="$OUT"
if [ "${BENCH_QUICK:-}" = 1 ]; then export BENCH_BUDGET_MS="${BENCH_BUDGET_MS:-300}"; fi
export BENCH_BUDGET_MS="${BENCH_BUDGET_MS:-1500}"
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/steps.txt
start=$(date +%s)

failed=()
step() { # step NAME CMD...: runs, records the outcome, never stops the run
  local name="$1"; shift
  banner "bench: $name"
  local t0; t0=$(date +%s)
  if "$@"; then
    echo "$name ok $(( $(date +%s) - t0 ))s" >> "$OUT/steps.txt"
  else
    echo "$name FAILED $(( $(date +%s) - t0 ))s" >> "$OUT/steps.txt"
    failed+=("$name")
  fi
}

# The release package; an over-size package (exit 3) is still benchmarked.
banner "bench: make pkg"
bash scripts/build-pkg.sh || [ $? -eq 3 ]
# Measure a snapshot: a rebuild of pkg/ during the run must not mix two builds in one report.
rm -rf "$OUT/pkg" && cp -r pkg "$OUT/pkg"
export BENCH_PKG="$OUT/pkg"

native() {
  node bench/dump-fixtures.mjs
  # The shipped release profile (opt-level s, LTO), as the Wasm is built ...
  cargo build --quiet --release --features sign --example bench_native
  BENCH_NATIVE_PROFILE="release (opt-level s, as the Wasm)" \
    "$TARGET_DIR/release/examples/bench_native" "$OUT/fixtures" "$OUT/native.json" "$BENCH_BUDGET_MS"
  # ... and, on request, opt-level 3 (what a native embedder would build) in its own target dir.
  [ "${BENCH_NATIVE_O3:-}" = 1 ] || return 0
  CARGO_TARGET_DIR="$TARGET_DIR/bench-o3" CARGO_PROFILE_RELEASE_OPT_LEVEL=3 \
    cargo build --quiet --release --features sign --example bench_native
  BENCH_NATIVE_PROFILE="release with opt-level 3" \
    "$TARGET_DIR/bench-o3/release/examples/bench_native" "$OUT/fixtures" "$OUT/native-o3.json" "$BENCH_BUDGET_MS"
}

size() {
  # Unstripped, with names (named_build in common.sh): the shipped code by function. Its data keeps
  # the full registry paths of panic locations that build-pkg.sh shortens, a few KB more.
  command -v twiggy >/dev/null || cargo install twiggy --locked --quiet
  local dir="$TARGET_DIR/named"
  named_build "$dir" || return
  twiggy top -n 1000000 -f json "$dir/named.wasm" > "$OUT/twiggy-top.json"
  twiggy top -n 25 "$dir/named.wasm" > "$OUT/twiggy-top.txt"
  twiggy dominators -d 3 -r 60 "$dir/named.wasm" > "$OUT/twiggy-dominators.txt" || true
  node bench/size.mjs
}

step "node: evaluate grid" node bench/eval.mjs
step "native: evaluate grid" native
step "node: cold start" node bench/cold.mjs
step "size" size
step "peers" node --expose-gc bench/peers.mjs
boundary() {
  # The serde-wasm-bindgen comparison crate (bench/boundary/): its own workspace and target dir.
  CARGO_TARGET_DIR="$TARGET_DIR/bench-boundary" cargo build --quiet --release \
    --manifest-path bench/boundary/Cargo.toml --target wasm32-unknown-unknown \
    && wasm-bindgen --target web --out-dir "$OUT/boundary-pkg" --out-name boundary \
      "$TARGET_DIR/bench-boundary/wasm32-unknown-unknown/release/boundary.wasm" \
    || { echo "bench: bench/boundary/ did not build; measuring the JSON path only" >&2; rm -rf "$OUT/boundary-pkg"; }
  node bench/boundary.mjs
}
step "boundary" boundary
step "instructions" node bench/instructions.mjs
step "cli: codes throughput" bash bench/codes.sh
step "worker: load (autocannon)" node bench/worker.mjs

echo "total $(( $(date +%s) - start ))s" >> "$OUT/steps.txt"
banner "bench: report"
node bench/report.mjs
if [ ${#failed[@]} -gt 0 ]; then
  printf 'bench: steps that failed (see above; the report marks them): %s\n' "${failed[*]}" >&2
fi
