# Sourced by the other scripts: run from the repo root, with cargo's bin dir on PATH.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$ROOT/node_modules/.bin:$PATH"
export WRANGLER_SEND_METRICS=false
# No network here but the registries: use miniflare's placeholder Request.cf instead of fetching it.
export CLOUDFLARE_CF_FETCH_ENABLED=false
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

banner() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The wasm-bindgen version pinned in Cargo.lock: the CLI and test runner must match it exactly.
locked_version() {
  awk -v want="$1" '$1 == "name" && $3 == "\"" want "\"" { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock
}

# wasm-opt's arguments for the shipped .wasm (build-pkg.sh; bench.sh's named copy for twiggy).
# -O3 with a function inlined into its only caller only when it is at most 100 bytes: -Oz's
# unbounded one-caller inlining made a few functions of 20-38 KB that V8's optimizing tier took
# 50-110 ms each to compile while a cold start ran (docs/development.md, "wasm-opt"). The
# post-MVP features it must accept are the ones rustc enabled, from `rustc --print cfg` (Rust
# 1.95: bulk-memory, multivalue, mutable-globals, nontrapping-fptoint, reference-types, sign-ext).
wasm_opt_args() {
  printf '%s\n' -O3 --one-caller-inline-max-function-size 100
  for f in $(rustc --print cfg --target wasm32-unknown-unknown | sed -n 's/^target_feature="\(.*\)"$/\1/p'); do
    case "$f" in
      nontrapping-fptoint) printf '%s\n' --enable-nontrapping-float-to-int ;;
      *) printf '%s\n' "--enable-$f" ;;
    esac
  done
}

# An unstripped release build with function names, through the same wasm-opt as pkg/ (`-g` keeps
# the name section, not DWARF), in its own target dir so pkg/ and target/ are untouched: DIR/pkg
# holds its JS glue, DIR/named.wasm the module. For twiggy (bench.sh) and bench/profile.mjs.
named_build() { # named_build DIR (each step returns on failure: callers may run without set -e)
  local dir="$1" opt_args
  rm -f "$dir/named.wasm"
  CARGO_TARGET_DIR="$dir" CARGO_PROFILE_RELEASE_STRIP=false \
    cargo build --quiet --release --lib --target wasm32-unknown-unknown || return
  wasm-bindgen --keep-debug --target web --out-dir "$dir/pkg" --out-name edge_coupons \
    "$dir/wasm32-unknown-unknown/release/edge_coupons.wasm" || return
  mapfile -t opt_args < <(wasm_opt_args)
  wasm-opt "${opt_args[@]}" -g --strip-dwarf "$dir/pkg/edge_coupons_bg.wasm" -o "$dir/named.wasm"
}
