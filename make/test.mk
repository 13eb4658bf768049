# Tests: unit tests beside each service, end-to-end tests in tests/e2e (real processes, real Envoy,
# SQLite and a throwaway PostgreSQL).
.PHONY: test test-unit test-e2e deps-test

deps-test:
	@bash tools/install-test-deps.sh

test: $(STAMP) deps-test
	$(PY) -m pytest -q

test-unit: $(STAMP)
	$(PY) -m pytest -q -m "not e2e"

test-e2e: $(STAMP) deps-test
	$(PY) -m pytest -q tests/e2e
