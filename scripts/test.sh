#!/usr/bin/env bash
# Every suite, in order. A failing suite does not stop the ones that do not depend on it; the exit
# status is non-zero if any failed.
source "$(dirname "$0")/common.sh"
bash scripts/ensure-tools.sh

passed=0
failed=()

# No suite can hang the run: CI allows 90 minutes and the whole of this takes about 7 on a fresh
# machine, so each suite has a wall-clock limit far above its usual time. One that passes it is ended
# (timeout signals its process group; the test helpers then end the wrangler and Chromium groups they
# started), whatever it left behind is killed, and what the machine was doing is printed.
machine_state() {
  echo "--- processes"
  ps -eo pid,ppid,pgid,stat,etimes,pcpu,rss,args --forest | cut -c1-220
  echo "--- memory, disk, load"
  free -m
  df -h / /tmp /dev/shm 2>/dev/null || true
  cat /proc/loadavg
}
# Processes this run started carry its mark in their environment (the helpers pass theirs on to
# wrangler, workerd and Chromium), so a `make dev` or another checkout's run is left alone.
export EDGE_COUPONS_TEST_RUN="$$"
leftovers() { # wrangler, workerd and esbuild from node_modules/, and Playwright's Chromium, of this run
  local pid pgid own
  own=$(ps -o pgid= -p $$ | tr -d ' ')
  for pid in $(pgrep -f "$ROOT/node_modules/|playwright_chromiumdev_profile" || true); do
    tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx "EDGE_COUPONS_TEST_RUN=$$" || continue
    # Its whole process group: Chromium's helpers do not carry the mark, but share the group.
    pgid=$(ps -o pgid= -p "$pid" | tr -d ' ')
    if [ -n "$pgid" ] && [ "$pgid" != "$own" ]; then kill -KILL -- "-$pgid" 2>/dev/null || true; fi
    kill -KILL "$pid" 2>/dev/null || true
  done
}
# And all of them together stop 80 minutes after this script started, installs included.
BUDGET=4800
KILL_AFTER=20 # seconds between timeout's TERM and its KILL
suite= watcher= # the running suite's timeout process (leader of its process group), its watcher
interrupted() { # interrupted EXIT_STATUS: Ctrl-C, TERM or HUP while a suite runs
  if [ -n "$suite" ]; then
    kill -INT -- "-$suite" 2>/dev/null || true
    wait "$suite" 2>/dev/null || true # timeout ends it within KILL_AFTER
  fi
  if [ -n "$watcher" ]; then kill "$watcher" 2>/dev/null || true; fi
  leftovers
  echo "make test: interrupted" >&2
  exit "$1"
}
trap 'interrupted 130' INT
trap 'interrupted 143' TERM
trap 'interrupted 129' HUP
run() { # run NAME LIMIT_SECONDS CMD...
  local name="$1" limit="$2" start=$SECONDS status=0
  shift 2
  banner "$name"
  local left=$((BUDGET - SECONDS - KILL_AFTER))
  if [ "$left" -lt 60 ]; then
    echo "error: not run: the run's $BUDGET s are spent"
    last_status=1
    failed+=("$name (not run: time budget spent)")
    return
  fi
  if [ "$left" -lt "$limit" ]; then limit=$left; fi
  # What was running is printed just before the limit, while the stuck processes are still there.
  # Its sleep writes nowhere: if it outlived the watcher it must not hold the log's pipe open.
  (
    trap 'kill "${nap:-}" 2>/dev/null; exit 0' TERM
    sleep $((limit - 3)) >/dev/null 2>&1 &
    nap=$!
    wait "$nap"
    printf '\nerror: %s has run for %s s of its %s; the machine now:\n' "$name" $((limit - 3)) "$limit"
    machine_state
  ) &
  watcher=$!
  # timeout runs the suite in a process group of its own, which a Ctrl-C at the terminal does
  # not reach: the traps above pass it on.
  timeout --kill-after="$KILL_AFTER" "$limit" "$@" &
  suite=$!
  wait "$suite" || status=$?
  suite=
  kill "$watcher" 2>/dev/null || true
  wait "$watcher" 2>/dev/null || true
  watcher=
  # 124: timed out; 137: killed, which is timeout's KILL only when the limit has passed.
  if [ "$status" -eq 124 ] || { [ "$status" -eq 137 ] && [ $((SECONDS - start)) -ge "$limit" ]; }; then
    printf 'error: %s did not finish within %s s: ended\n' "$name" "$limit"
    leftovers
  fi
  printf '(%s: %s s)\n' "$name" "$((SECONDS - start))"
  last_status=$status
  if [ "$status" -eq 0 ]; then passed=$((passed + 1)); else failed+=("$name"); fi
}

# A Node suite prints a dot per test here (and each failure in full at its end), and its whole
# report (every test, diagnostics such as a failure's screenshot, the counts) to
# test-results/DIR.txt; then the counts, and on a failure the report's diagnostics. Its 2,000 tests
# as TAP made 400 KB of log.
node_suite() { # node_suite NAME LIMIT_SECONDS DIR [node --test options]
  local name="$1" limit="$2" dir="$3"
  shift 3
  local report
  report="test-results/$(basename "$dir").txt"
  mkdir -p test-results
  rm -f "$report"
  run "$name" "$limit" node --test "$@" --test-reporter=dot --test-reporter-destination=stdout \
    --test-reporter=spec --test-reporter-destination="$report" "$dir"
  if [ "$last_status" -eq 0 ]; then
    { grep -E '^ℹ (tests|pass|fail|duration_ms) ' "$report" || true; } | tr '\n' ' '
    echo
  else
    grep -E '^ *ℹ ' "$report" 2>/dev/null || true
  fi
}

# --features cli: the couponctl binary and its tests (tests/cli.rs) too.
run "native: cargo test" 1500 cargo test --all-targets --features cli
# Doc tests are not part of --all-targets; the README example is one (crate docs).
run "native: cargo test --doc" 600 cargo test --doc
# Signed-manifest vectors: regenerated by the committed program with the test key; any difference
# from what is committed fails (they are deterministic).
run "signed vectors: regenerate and diff tests/signed" 600 bash -c \
  'cargo run --quiet --features sign --example gen_signed_vectors && git diff --exit-code -- tests/signed && [ -z "$(git status --porcelain -- tests/signed)" ]'

# Wasm tests in Node: only the integration test files that use wasm_bindgen_test build for wasm32.
wasm_targets=()
for f in tests/*.rs; do
  [ -e "$f" ] || continue
  if grep -q 'wasm_bindgen_test' "$f"; then wasm_targets+=(--test "$(basename "$f" .rs)"); fi
done
if [ ${#wasm_targets[@]} -gt 0 ]; then
  run "wasm32: wasm-bindgen-test in Node (${wasm_targets[*]})" 1200 \
    env CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    cargo test --target wasm32-unknown-unknown "${wasm_targets[@]}"
else
  banner "wasm32: no test file uses wasm_bindgen_test; nothing to run"
fi

# build-pkg exits 3 when only the size gate failed: the package exists, so its tests still run.
run "pkg: release build and size gate" 900 bash scripts/build-pkg.sh
if [ -f pkg/edge_coupons.js ]; then
  node_suite "node: JS API tests against pkg/" 600 tests/node/
  # Deterministic cost (issue 14): instructions per evaluate and the default result's size, 200 x 100.
  run "pkg: instruction, ratio and result-size gate" 300 node scripts/instruction-gate.mjs
else
  failed+=("node: JS API tests against pkg/ (not run: no package)")
fi

# The Worker inside workerd (tests/worker/) and the pages in headless Chromium (tests/browser/); each
# test file starts its own local server against pkg/.
for kind in worker browser; do
  if [ -f pkg/edge_coupons.js ] && compgen -G "tests/$kind/*.test.mjs" >/dev/null; then
    node_suite "$kind: tests/$kind/" 900 "tests/$kind/" --test-concurrency=1
  fi
done

banner "summary"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'failed: %s\n' "${failed[@]}"
  echo "suites: $passed passed, ${#failed[@]} failed"
  exit 1
fi
echo "suites: $passed passed, 0 failed"
