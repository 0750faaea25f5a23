# Thin entry points; the logic lives in scripts/ (see docs/development.md).
.PHONY: install dev test pkg lint bench fuzz profile

install:
	@bash scripts/ensure-tools.sh

dev:
	@bash scripts/dev.sh

test:
	@bash scripts/test.sh

pkg:
	@bash scripts/build-pkg.sh

lint:
	@bash scripts/lint.sh

# Writes docs/benchmarks.md and docs/benchmarks-scaling.svg; an over-size package is still benchmarked.
bench:
	@bash scripts/bench.sh

fuzz:
	@bash scripts/fuzz.sh

# Wasm instructions by function (scripts/profile.sh): PROFILE="LINES COUPONS [--load] [--top N]".
profile:
	@bash scripts/profile.sh $(PROFILE)
