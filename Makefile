# novamesh — one command per check. `make check` runs what CI runs.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROTO_FILES := $(shell find protos -name '*.proto' | sort)

.DEFAULT_GOAL := help
.PHONY: help venv protos protos-check lint format typecheck test test-unit test-e2e run stop status bench check clean

help:
	@echo "make run      start the whole mesh (Envoy, five services, 4 fake hosts, SQLite)"
	@echo "make stop     stop what make run started"
	@echo "make test     unit and end-to-end tests (installs what they need)"
	@echo "make bench    boot benchmark, figures in .novamesh/bench/"
	@echo "make check    lint, typecheck, stale generated code, tests: what CI runs"

# The virtualenv, reinstalled when pyproject.toml changes.
venv: $(STAMP)
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# Python modules, type stubs and the descriptor set Envoy loads, all from protos/.
protos: $(STAMP)
	$(PY) tools/genprotos.py --out gen

protos-check: $(STAMP)
	$(PY) tools/genprotos.py --check gen

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) tools/genprotos.py --lint

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: $(STAMP)
	$(VENV)/bin/mypy common services tests tools

-include make/*.mk

check: lint typecheck protos-check test

clean:
	rm -rf .novamesh .pytest_cache .mypy_cache .ruff_cache
