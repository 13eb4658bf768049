# The compute agent: its unit tests, and one agent on its own (e.g. extra simulated hosts for a
# scale test: `make agent-run AGENT_HOSTS=50 AGENT_PREFIX=sim`).
.PHONY: agent-test agent-run
AGENT_HOSTS ?= 4
AGENT_PREFIX ?= sim
# An extra agent beside `make run` must not take the default agent port; its port is logged.
AGENT_LISTEN ?= 127.0.0.1:0

agent-test: $(STAMP)
	$(PY) -m pytest -q services/compute-agent/tests

agent-run: $(STAMP)
	NOVAMESH__AGENT__HOST_COUNT=$(AGENT_HOSTS) NOVAMESH__AGENT__HOST_PREFIX=$(AGENT_PREFIX) \
		NOVAMESH__ENDPOINTS__AGENT=$(AGENT_LISTEN) $(VENV)/bin/novamesh-agent
