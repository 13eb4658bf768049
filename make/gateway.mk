# api-gateway: its unit tests alone (fast; an in-process gateway in front of a fake router).
.PHONY: test-gateway

test-gateway: $(STAMP)
	$(PY) -m pytest -q services/api-gateway/tests
