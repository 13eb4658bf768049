# Benchmarks write JSON under .novamesh/bench/; they measure, they assert nothing.
.PHONY: bench
BENCH_COUNT ?= 200
BENCH_CONCURRENCY ?= 16

bench: $(STAMP)
	$(MAKE) --no-print-directory run
	$(PY) -m tests.bench.boot --count $(BENCH_COUNT) --concurrency $(BENCH_CONCURRENCY) --out .novamesh/bench/boot.json
