# Scheduler: its unit tests and its benchmark (1,000 and 10,000 simulated hosts).
.PHONY: test-scheduler bench-scheduler

test-scheduler: $(STAMP)
	$(PY) -m pytest -q services/scheduler

bench-scheduler: $(STAMP)
	$(PY) -m novamesh.scheduler.bench --hosts 1000 10000 --requests 1000 --out .novamesh/bench/scheduler.json
