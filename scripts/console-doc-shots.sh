#!/usr/bin/env bash
# Copies the console test's screenshots (test-results/browser/console-*.png, from
# `node --test tests/browser/console.test.mjs`) into docs/console/ at a size for reading on a page:
# the top of each view, scaled down, as 8-bit PNG. Needs ImageMagick's `convert`.
source "$(dirname "$0")/common.sh"
SRC=test-results/browser
OUT=docs/console
mkdir -p "$OUT"
# name in docs  <-  screenshot  crop (WxH from the top-left)  width in docs
while read -r name shot crop width; do
  [ -f "$SRC/$shot.png" ] || die "no $SRC/$shot.png: run the console test first"
  convert "$SRC/$shot.png" -crop "$crop+0+0" +repage -resize "${width}x" -strip -colors 256 "PNG8:$OUT/$name.png"
  printf '%s: %s bytes\n' "$OUT/$name.png" "$(wc -c < "$OUT/$name.png")"
done <<'LIST'
list console-list 1280x1100 960
coupon console-coupon 1280x1100 960
form console-form 1280x1500 960
versions console-versions 1280x900 960
codes console-codes 1280x1900 960
stats console-stats 1280x1500 960
list-390 console-list-390 390x1200 390
coupon-390 console-coupon-390 390x1200 390
LIST
