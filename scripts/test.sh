#!/usr/bin/env bash
# Every suite, in order. A failing suite does not stop the ones that do not depend on it; the exit
# status is non-zero if any failed.
source "$(dirname "$0")/common.sh"
bash scripts/ensure-tools.sh

passed=0
failed=()
run() { # run NAME CMD...
  local name="$1"; shift
  banner "$name"
  if "$@"; then passed=$((passed + 1)); else failed+=("$name"); fi
}

run "native: cargo test" cargo test --all-targets
# Doc tests are not part of --all-targets; the README example is one (crate docs).
run "native: cargo test --doc" cargo test --doc

# Wasm tests in Node: only the integration test files that use wasm_bindgen_test build for wasm32.
wasm_targets=()
for f in tests/*.rs; do
  [ -e "$f" ] || continue
  if grep -q 'wasm_bindgen_test' "$f"; then wasm_targets+=(--test "$(basename "$f" .rs)"); fi
done
if [ ${#wasm_targets[@]} -gt 0 ]; then
  run "wasm32: wasm-bindgen-test in Node (${wasm_targets[*]})" \
    env CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    cargo test --target wasm32-unknown-unknown "${wasm_targets[@]}"
else
  banner "wasm32: no test file uses wasm_bindgen_test; nothing to run"
fi

# build-pkg exits 3 when only the size gate failed: the package exists, so its tests still run.
run "pkg: release build and size gate" bash scripts/build-pkg.sh
if [ -f pkg/edge_coupons.js ]; then
  run "node: JS API tests against pkg/" node --test tests/node/
else
  failed+=("node: JS API tests against pkg/ (not run: no package)")
fi

banner "summary"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'failed: %s\n' "${failed[@]}"
  echo "suites: $passed passed, ${#failed[@]} failed"
  exit 1
fi
echo "suites: $passed passed, 0 failed"
