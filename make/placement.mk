# Placement: upstream's gabbi stories through real Envoy against a fresh placement per file.
.PHONY: gabbi gabbi-check test-placement bench-placement

# Every file; the per-file table lands in .novamesh/gabbi/report.md.
gabbi: $(STAMP)
	$(PY) -m tests.placement.gabbi_runner

# The same, failing when a file passes fewer tests than tests/placement/gabbi_baseline.json.
gabbi-check: $(STAMP)
	$(PY) -m tests.placement.gabbi_runner --check-baseline

test-placement: $(STAMP)
	$(VENV)/bin/pytest -q services/placement/tests tests/placement

# GET /allocation_candidates at upstream's perf-job scale through Envoy; JSON in .novamesh/bench/.
bench-placement: $(STAMP)
	$(PY) -m tests.bench.placement
