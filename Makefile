# Thin entry points; the logic lives in scripts/ (see docs/development.md).
.PHONY: install dev test pkg lint bench fuzz

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
