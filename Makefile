# Two commands for a fresh Debian machine with Python 3.11: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export HOST PORT

.PHONY: assets run test test-sqlite test-postgresql venv system-test-deps bench bench-postgresql bench-timers clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv; }
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

# The process owners' workbench (bpmn-js, dmn-js, bpmnlint) and the statistics charts
# (Chart.js) from the pinned npm packages of web/assets/ into web/static/workbench/ and
# web/static/charts/. The result is committed: `make run` and `make test` never need node;
# run this only to change or update them.
assets:
	cd web/assets && npm ci && node build.mjs && node charts.mjs

run: venv
	$(BIN)/python -m web.serve

# PostgreSQL server binaries for the test run's own throwaway cluster, and Chromium for
# the browser journeys (Playwright drives the Debian browser; it downloads none), with a
# Chinese font so that the Chinese pages render as text rather than empty boxes.
system-test-deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	fc-list :lang=zh 2>/dev/null | grep -q . || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

test: venv system-test-deps test-sqlite test-postgresql

# Two workers, one per core of the machines CI runs on; a test file stays on one worker,
# so a file's browser and fixtures are started once.
TEST_WORKERS ?= 2
PYTEST = $(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile

test-sqlite: venv
	$(PYTEST)

test-postgresql: venv system-test-deps
	COMPLAINTS_TEST_DATABASE=postgresql $(PYTEST) -m "not sqlite_only"

bench: venv
	$(BIN)/python bench/api_bench.py

bench-postgresql: venv system-test-deps
	$(BIN)/python bench/api_bench.py --postgresql

bench-timers: venv system-test-deps
	$(BIN)/python bench/timer_bench.py

clean:
	rm -rf $(VENV) .pytest_cache
