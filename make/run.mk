# The whole mesh on this machine, in the background: `make run`, `make status`, `make logs`,
# `make stop`. State (SQLite files, pid files, logs, clouds.yaml) lives under .novamesh/.
# LAUNCH_ARGS passes options to `run` (e.g. --no-seed, --cors-origin URL, --admin-port N);
# LOGS picks processes for `make logs` (e.g. LOGS="api router"), FOLLOW=1 follows them.
.PHONY: run stop status logs
LAUNCHER = $(PY) -m novamesh.common.edge.local
LAUNCH_ARGS ?=
LOGS ?=
FOLLOW ?=

run: $(STAMP)
	@test -f gen/envoy/novamesh.pb || $(MAKE) --no-print-directory protos
	@$(LAUNCHER) run $(LAUNCH_ARGS)

# No venv dependency: stopping must never start an install.
stop:
	@if test -x $(PY); then $(LAUNCHER) stop; else echo "novamesh is not running (no virtualenv)"; fi

status:
	@if test -x $(PY); then $(LAUNCHER) status; else echo "novamesh is not running (no virtualenv)"; fi

logs:
	@$(LAUNCHER) logs $(LOGS) $(if $(FOLLOW),-f)

# Until the first release each database keeps one regenerated migration, so state made by an
# older checkout can lack columns: `make reset` stops the mesh and forgets its state (databases,
# images, agent state, logs, traces), keeping benchmark results and the cached guest image.
.PHONY: reset
reset: stop
	rm -rf .novamesh/*.db .novamesh/*.db-wal .novamesh/*.db-shm .novamesh/images .novamesh/agent \
	       .novamesh/run .novamesh/logs .novamesh/traces .novamesh/clouds.yaml .novamesh/envoy.yaml
