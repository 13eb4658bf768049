# Placement: upstream's gabbi stories through real Envoy against a fresh placement per file.
.PHONY: gabbi test-placement bench-placement

gabbi: $(STAMP)
	$(PY) -m pip install -q gabbi
	$(PY) -m tests.placement.gabbi_runner

test-placement: $(STAMP)
	$(VENV)/bin/pytest -q services/placement/tests

# GET /allocation_candidates at upstream's perf-job scale through Envoy; JSON in .novamesh/bench/.
bench-placement: $(STAMP)
	$(PY) -m tests.bench.placement
