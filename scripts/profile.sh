#!/usr/bin/env bash
# `make profile`: Wasm instructions by function, for one evaluate of the benchmark's fixtures (or
# one manifest load), on a named build of the shipped code (named_build in common.sh, its own
# target dir). Arguments go to bench/profile.mjs: [LINES COUPONS] [--load] [--top N], e.g.
#   make profile                          # 200 lines x 100 coupons
#   make profile PROFILE="1000 100 --top 20"
#   make profile PROFILE="200 1000 --load"  # loading the 1,000-coupon manifest
source "$(dirname "$0")/common.sh"
bash scripts/ensure-tools.sh
dir="$TARGET_DIR/named" # shared with make bench's size step
named_build "$dir"
node bench/profile.mjs "$dir/named.wasm" "$dir/pkg" "$@"
