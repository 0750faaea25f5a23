#!/usr/bin/env bash
# Release Wasm package into pkg/: cargo -> wasm-bindgen (--target web) -> wasm-opt -> size gate
# (on the gzip -9 size: what a browser and a Worker upload actually carry).
source "$(dirname "$0")/common.sh"

SIZE_LIMIT=262144 # bytes, .wasm after wasm-opt, gzip -9
OUT=pkg
WASM="$OUT/edge_coupons_bg.wasm"

bash scripts/ensure-tools.sh

# A failed build must not leave an older package behind for the tests to pass against.
rm -rf "$OUT"
# Panic locations name source files: shorten the registry's long prefix (and keep the build
# independent of where CARGO_HOME is). This saves a few KB of the size budget.
registry="${CARGO_HOME:-$HOME/.cargo}/registry/src"
RUSTFLAGS="${RUSTFLAGS:-} --remap-path-prefix=$registry=/crates" \
  cargo build --quiet --release --lib --target wasm32-unknown-unknown
wasm-bindgen --target web --out-dir "$OUT" --out-name edge_coupons \
  "$TARGET_DIR/wasm32-unknown-unknown/release/edge_coupons.wasm"

# The result handoff's JS (js/handoff.js, a wasm-bindgen snippet, src/handoff.rs) goes beside the
# glue under a fixed name: wasm-bindgen puts it in a folder named by a hash, and the page's service
# worker and the servers that copy the package list its files by name.
snippet=("$OUT"/snippets/*/js/handoff.js)
if [ ! -f "${snippet[0]}" ]; then
  echo "error: wasm-bindgen wrote no snippets/*/js/handoff.js into $OUT (src/handoff.rs imports it)" >&2
  exit 1
fi
mv "${snippet[0]}" "$OUT/edge_coupons_handoff.js"
rm -r "$OUT/snippets"
sed -i "s|from '\./snippets/[^']*/js/handoff\.js'|from './edge_coupons_handoff.js'|" "$OUT/edge_coupons.js"
if ! grep -q "from './edge_coupons_handoff.js'" "$OUT/edge_coupons.js" || grep -q snippets/ "$OUT/edge_coupons.js"; then
  echo "error: the glue does not import ./edge_coupons_handoff.js (has wasm-bindgen's snippet layout changed?)" >&2
  exit 1
fi

mapfile -t opt_args < <(wasm_opt_args)
wasm-opt "${opt_args[@]}" "$WASM" -o "$WASM"

# The npm package: its README and package.json (name, version, exports, types). `npm pack pkg/`
# makes the tarball a shop installs; tests/browser/package.test.mjs installs it in an example shop.
cp packaging/README.md "$OUT/README.md"
cat > "$OUT/package.json" <<JSON
{
  "name": "edge-coupons",
  "version": "$(awk -F'"' '/^version *=/ { print $2; exit }' Cargo.toml)",
  "description": "$(awk -F'"' '/^description *=/ { print $2; exit }' Cargo.toml)",
  "license": "$(awk -F'"' '/^license *=/ { print $2; exit }' Cargo.toml)",
  "type": "module",
  "main": "edge_coupons.js",
  "module": "edge_coupons.js",
  "types": "edge_coupons.d.ts",
  "exports": {
    ".": { "types": "./edge_coupons.d.ts", "default": "./edge_coupons.js" },
    "./edge_coupons_bg.wasm": "./edge_coupons_bg.wasm",
    "./package.json": "./package.json"
  },
  "files": ["edge_coupons.js", "edge_coupons_handoff.js", "edge_coupons.d.ts", "edge_coupons_bg.wasm", "edge_coupons_bg.wasm.d.ts", "README.md"],
  "sideEffects": false
}
JSON

raw=$(wc -c < "$WASM")
gz=$(gzip -9 -c "$WASM" | wc -c)
# Brotli through node's zlib (quality 11, as a CDN serves it): no brotli binary is needed.
br=$(node -e 'const z=require("zlib"),b=require("fs").readFileSync(process.argv[1]);process.stdout.write(String(z.brotliCompressSync(b,{params:{[z.constants.BROTLI_PARAM_QUALITY]:11,[z.constants.BROTLI_PARAM_SIZE_HINT]:b.length}}).length))' "$WASM")
js=$(wc -c < "$OUT/edge_coupons.js")
printf 'pkg: %s  %d bytes raw, %d gzip -9, %d brotli 11 (gate: %d gzip); glue %s %d bytes\n' \
  "$WASM" "$raw" "$gz" "$br" "$SIZE_LIMIT" "$OUT/edge_coupons.js" "$js"
if [ "$gz" -gt "$SIZE_LIMIT" ]; then
  # Exit 3: the package was built (pkg/ is usable) but is too big. scripts/test.sh tells them apart.
  printf 'error: size gate: %s is %d bytes gzip -9, over the %d byte limit\n' "$WASM" "$gz" "$SIZE_LIMIT" >&2
  exit 3
fi
