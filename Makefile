# Journey Studio — developer entry points. Needs only Python 3.11+ and make.
#   make run    create .venv if missing, install the app (editable), start the GUI
#   make test   create .venv if missing, install the app with its test extra, run pytest
#   make lint   ruff + mypy (strict on app/core, app/engine, app/store and app/ingest)
#               + lint-imports (the layer contracts in pyproject.toml)
#   make screenshots  re-take resources/screenshots/*.png from a new demo database
#   make clean  remove the virtualenv, caches and build output

PYTHON ?= python3
VENV   ?= .venv
PYTEST_ARGS ?=
# Worker processes for the test suite (pytest-xdist): most tests wait on a database or a
# window as much as they compute, so two keep two cores busy. TEST_WORKERS=0 runs in-process.
TEST_WORKERS ?= 2
ARGS ?=

BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check

.DEFAULT_GOAL := help
.PHONY: help run test lint screenshots clean

help:
	@echo "make run    - install (editable) into $(VENV) and start Journey Studio"
	@echo "make test   - install with the test extra and run the whole test suite (offscreen Qt)"
	@echo "make lint   - ruff check app tests; mypy; lint-imports (layer contracts)"
	@echo "make screenshots - take resources/screenshots/*.png from a new demo database (offscreen Qt)"
	@echo "make clean  - remove $(VENV), caches, build output and test artifacts"

# The virtualenv itself. Refuses an interpreter older than 3.11 with a clear message.
$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "error: Journey Studio needs Python 3.11+, but $(PYTHON) is " + sys.version.split()[0] + " (use make PYTHON=python3.11 ...)")'
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); echo "error: '$(PYTHON) -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)" >&2; exit 1; }

# Stamp files: reinstall only when pyproject.toml changed (or the venv was recreated).
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[test]'
	@touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/journey-studio $(ARGS)

# pytest exits 5 when it collected no test at all: treat that as a failure, never a pass.
test: $(VENV)/.installed-test
	@rc=0; QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then \
		echo "error: pytest collected no tests (exit code 5); the suite must run tests." >&2; \
		exit 1; \
	fi; \
	exit $$rc

# Runs every tool even when an earlier one complains, then fails if any did.
lint: $(VENV)/.installed-test
	@rc=0; \
	echo "ruff check app tests"; $(BIN)/ruff check app tests || rc=1; \
	echo "mypy"; $(BIN)/mypy || rc=1; \
	echo "lint-imports"; $(BIN)/lint-imports --no-cache --no-logo || rc=1; \
	exit $$rc

# The README's pictures: a new demo database in a temporary folder, the real window offscreen.
screenshots: $(VENV)/.installed-run
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m app.ui.screenshots

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis tests/_artifacts
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
