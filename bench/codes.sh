#!/usr/bin/env bash
# couponctl throughput (issue 4): `codes generate` of 1,000,000 codes and `codes import` of a
# 1,000,000-row CSV, each must take under 10 s. The release profile as shipped (opt-level s, LTO).
# Prints the figures, writes $BENCH_OUT/codes.json, and exits 1 over the budget.
source "$(dirname "$0")/../scripts/common.sh"

N="${CODES_BENCH_N:-1000000}"
BUDGET_S=10
OUT="${BENCH_OUT:-$TARGET_DIR/bench}"
mkdir -p "$OUT"
cargo build --quiet --release --features cli --bin couponctl
BIN="$TARGET_DIR/release/couponctl"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT

"$BIN" codes secret --out "$dir/mac" 2>/dev/null
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

t0=$(date +%s%N)
"$BIN" codes generate --count "$N" --prefix BACK --secret-file "$dir/mac" --out "$dir/codes.txt" 2>/dev/null
gen_ms=$(ms "$t0")
[ "$(wc -l < "$dir/codes.txt")" -eq "$N" ] || die "codes generate wrote $(wc -l < "$dir/codes.txt") codes, not $N"

# A partner CSV: header, quoted codes, a second column.
{ echo 'code,partner'; sed 's/.*/"&",acme/' "$dir/codes.txt"; } > "$dir/partner.csv"
t0=$(date +%s%N)
"$BIN" codes import --coupon comeback-15 --out "$dir/kv.json" "$dir/partner.csv" 2>/dev/null
imp_ms=$(ms "$t0")

t0=$(date +%s%N)
"$BIN" codes check --prefix BACK --length 17 --secret-file "$dir/mac" --file "$dir/codes.txt" > /dev/null
chk_ms=$(ms "$t0")

rate() { echo $(( N * 1000 / ($1 > 0 ? $1 : 1) )); }
printf 'codes generate: %d codes in %d ms (%d codes/s)\n' "$N" "$gen_ms" "$(rate "$gen_ms")"
printf 'codes import:   %d CSV rows in %d ms (%d rows/s)\n' "$N" "$imp_ms" "$(rate "$imp_ms")"
printf 'codes check:    %d codes (check character + MAC) in %d ms (%d codes/s)\n' "$N" "$chk_ms" "$(rate "$chk_ms")"
cat > "$OUT/codes.json" <<JSON
{ "n": $N, "generate_ms": $gen_ms, "import_ms": $imp_ms, "check_ms": $chk_ms, "budget_ms": $((BUDGET_S * 1000)) }
JSON
if [ "$gen_ms" -ge $((BUDGET_S * 1000)) ] || [ "$imp_ms" -ge $((BUDGET_S * 1000)) ]; then
  die "over the ${BUDGET_S} s budget"
fi
