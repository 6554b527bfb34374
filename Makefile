# Two commands set everything up on a fresh machine:
#   make demo   - creates .venv, installs, runs the MLRC protocol on the embedded synthetic dataset
#   make test   - creates .venv, installs, runs ruff and the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test demo lint clean-runs

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

demo: $(STAMP)
	$(BIN)/mlrc run --protocol demo

lint: $(STAMP)
	$(BIN)/ruff check .

clean-runs:
	rm -rf results/runs
