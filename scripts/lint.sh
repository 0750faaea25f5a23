#!/usr/bin/env bash
# fmt, then clippy natively (all targets) and for the wasm32 library (the JS skin only builds there).
source "$(dirname "$0")/common.sh"
bash scripts/ensure-tools.sh

banner "cargo fmt --check"
cargo fmt --all -- --check
banner "cargo clippy (native, all targets)"
cargo clippy --quiet --all-targets --features cli -- -D warnings
banner "cargo clippy (wasm32 lib)"
cargo clippy --quiet --lib --target wasm32-unknown-unknown -- -D warnings
banner "cargo clippy (wasm32 tests)"
cargo clippy --quiet --target wasm32-unknown-unknown --test wasm -- -D warnings
banner "lint ok"
