# Benchmarks write JSON under .novamesh/bench/; they measure, they assert nothing.
# `make bench` starts a mesh of its own on free ports (it leaves a `make run` alone): 1,000 boots,
# 16 in flight, then GET /servers/detail?limit=1000 over all of them.
.PHONY: bench
BENCH_COUNT ?= 1000
BENCH_CONCURRENCY ?= 16

bench: $(STAMP)
	$(PY) -m tests.bench.boot --count $(BENCH_COUNT) --concurrency $(BENCH_CONCURRENCY) --out .novamesh/bench/boot.json
