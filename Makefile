# make run   - set up and serve Descent on http://127.0.0.1:8000 (HOST / PORT override)
# make test  - set up, lint (ruff, mypy) and run every test (unit, protocol, browser)
# make lint  - ruff (lint and import order) and mypy (the backend's types) only
# make bench - print the benchmark table
# make load  - the load test: N websocket clients at once (about 4 minutes; not in make bench)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
export PYTHONPATH := $(CURDIR)/backend

.PHONY: run lint test bench load browser clean

# The venv is rebuilt only when the requirements change (a stamp file records it).
$(VENV)/.stamp: requirements.txt requirements-dev.txt requirements-ray.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(VENV)/.stamp
	HOST=$(HOST) PORT=$(PORT) $(PY) -m descent

# Debian's chromium for the browser tests (never a downloaded browser build).
browser:
	@command -v chromium >/dev/null 2>&1 || scripts/install-chromium.sh

# Both read their settings from pyproject.toml; a finding fails `make test` before any test runs.
lint: $(VENV)/.stamp
	$(VENV)/bin/ruff check backend tests bench
	$(VENV)/bin/mypy

test: lint browser
	$(PY) -m pytest

bench: $(VENV)/.stamp browser
	$(PY) -m bench
	$(PY) -m bench.rnn

load: $(VENV)/.stamp
	$(PY) -m bench.load

clean:
	rm -rf $(VENV) artifacts
