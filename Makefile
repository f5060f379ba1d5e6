# Two entry points for a fresh machine: `make map` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CM := $(VENV)/bin/conflictmap

.PHONY: setup system-deps map test lint geodata bench
.DEFAULT_GOAL := map

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

setup: $(VENV)/.installed

system-deps:
	bash scripts/system-deps.sh

map: setup
	$(CM) validate events/
	$(CM) list events/

test: setup system-deps
	$(PY) -m ruff check src tests geodata benchmarks
	$(PY) -m pytest

geodata: setup
	$(PY) geodata/build.py
