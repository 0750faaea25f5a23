#!/usr/bin/env bash
# Installs what the build and tests need, only where it is missing. Silent when all is present.
source "$(dirname "$0")/common.sh"

say() { printf 'ensure-tools: %s\n' "$*" >&2; }

if command -v rustup >/dev/null; then
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding Rust target wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown >&2
  fi
  for comp in clippy rustfmt; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^$comp"; then
      say "adding Rust component $comp"
      rustup component add "$comp" >&2
    fi
  done
elif [ ! -d "$(rustc --print sysroot)/lib/rustlib/wasm32-unknown-unknown" ]; then
  die "the wasm32-unknown-unknown target is missing and rustup is not available to add it"
fi

WB_VERSION="$(locked_version wasm-bindgen)"
[ -n "$WB_VERSION" ] || die "no wasm-bindgen in Cargo.lock (run 'cargo generate-lockfile'?)"
have_wb="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
have_runner="$(command -v wasm-bindgen-test-runner || true)"
if [ "$have_wb" != "$WB_VERSION" ] || [ -z "$have_runner" ]; then
  say "installing wasm-bindgen-cli $WB_VERSION (found: ${have_wb:-none}); this compiles for a few minutes"
  cargo install wasm-bindgen-cli --version "$WB_VERSION" --force --quiet
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] \
  || [ package.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --loglevel=error --no-fund --no-audit >&2
fi

# Debian's chromium for the browser tests (tests/browser/, driven by playwright-core); never a
# downloaded browser.
if [ ! -x /usr/bin/chromium ]; then
  command -v apt-get >/dev/null || die "/usr/bin/chromium is missing and apt-get is not available to install it"
  say "installing Debian's chromium"
  if ! apt-get install -y -qq chromium >/dev/null 2>&1; then
    apt-get update -qq >&2 && apt-get install -y -qq chromium >/dev/null
  fi
fi
