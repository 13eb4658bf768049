# The cells router's benchmark: three cells x 10,000 instances, a 1000-server page and a full
# walk with markers, figures in .novamesh/bench/list.json.
.PHONY: bench-list
BENCH_LIST_PER_CELL ?= 10000

bench-list: $(STAMP)
	$(PY) services/cells-router/bench/list_bench.py --per-cell $(BENCH_LIST_PER_CELL) --out .novamesh/bench/list.json

# Cells v2 on its own: the router's unit tests, the Redis store against a throwaway
# redis-server, the three-cell end-to-end story (Redis-backed mesh, dark cell, agent kill) on
# SQLite and on PostgreSQL, and two router replicas sharing one set of agents.
.PHONY: test-cells
test-cells: $(STAMP) deps-test
	$(PY) -m pytest -q services/cells-router/tests common/tests/redisstore tests/e2e/test_cells_multi.py \
		tests/e2e/test_cells_postgres.py tests/e2e/test_cells_replicas.py
