# The two commands of the README: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
export PREFECT_HOME ?= $(CURDIR)/.prefect

.PHONY: run test install bench

$(BIN)/tocsin: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/tocsin

# Backfill the seed articles once (their alerts reach the default channel), then
# serve the monitor on its schedule with a local Prefect server and UI.
run: install
	$(BIN)/tocsin backfill seeds/
	$(BIN)/tocsin serve

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/scan.py
	$(BIN)/python bench/poll.py
	$(BIN)/python bench/alerts.py
	$(BIN)/python bench/backfill.py
