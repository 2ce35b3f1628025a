# The two commands the README promises: `make run` and `make test`. Each sets itself up.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-deps clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/pledgegraph build

# System packages for the integration tests (Virtuoso, Chromium); installs only what is missing.
test-deps:
	sh scripts/install-test-deps.sh

test: install test-deps
	$(BIN)/python -m pytest

clean:
	rm -rf dist $(VENV) .pytest_cache
