# Two entry points for a fresh machine: `make map` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CM := $(VENV)/bin/conflictmap

.PHONY: setup assets system-deps map test lint geodata screenshot
.DEFAULT_GOAL := map

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

setup: $(VENV)/.installed

assets: setup
	$(CM) assets fetch

system-deps:
	bash scripts/system-deps.sh

map: assets
	$(CM) validate events/
	$(CM) build

test: assets system-deps
	$(PY) -m ruff check src tests geodata benchmarks scripts
	$(PY) -m pytest

screenshot: assets system-deps
	$(PY) scripts/screenshot.py

geodata: setup
	$(PY) geodata/build.py
