# Thin entry points; the logic lives in scripts/ (see docs/development.md).
.PHONY: install dev test pkg lint bench

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

# An over-size package (exit 3) is still benchmarked.
bench:
	@bash scripts/build-pkg.sh || [ $$? -eq 3 ]
	@node bench/eval.mjs
