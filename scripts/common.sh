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
