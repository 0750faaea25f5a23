#!/usr/bin/env bash
# make fuzz: each cargo-fuzz target for FUZZ_SECONDS (default 600), seeded from the shared vectors.
# Needs the nightly toolchain (installed on this machine kind) and cargo-fuzz (installed if missing).
source "$(dirname "$0")/common.sh"
SECONDS_EACH="${FUZZ_SECONDS:-600}"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --quiet
cd fuzz
./seed.sh
for target in evaluate manifest codes csv; do
  banner "fuzz: $target for ${SECONDS_EACH}s"
  cargo +nightly fuzz run -O "$target" "corpus/$target" -- -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048
done
