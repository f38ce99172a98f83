# Two commands: `make run` (set up, ingest and score the shipped seeds, start the dashboard)
# and `make test` (set up with the test extras, run the whole suite). Each creates .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
PYTEST_ARGS ?=

.PHONY: run test install install-test lint bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	# The pip of a fresh 3.11 venv (23.2) silently skips trafilatura's lxml_html_clean.
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(BIN)/policy-risk up --port $(PORT)

test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/python -m pip install --quiet ruff mypy
	$(BIN)/ruff check pipeline tests dashboard.py bench
	$(BIN)/mypy pipeline views bench

clean:
	rm -rf $(VENV) data/*.db data/*.db-wal data/*.db-shm
