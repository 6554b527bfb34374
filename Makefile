# Two commands set everything up on a fresh machine:
#   make demo   - creates .venv, installs, runs the MLRC protocol on the embedded synthetic dataset
#   make test   - creates .venv, installs, runs ruff (lint and format), the import contract, mypy
#                 on benchmark/ and the test suite (which builds the documentation site with
#                 `mkdocs build --strict`)
#   make docs   - builds the documentation site into site/ (offline)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Offline: WHEELHOUSE=DIR installs from a folder of wheels (`make wheelhouse`) without network,
# into a venv that sees the system's packages (a GPU machine's preinstalled torch is reused).
WHEELHOUSE ?=
WHEELHOUSE_DIR ?= wheelhouse
# A CPU-only machine: TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu installs torch and
# torchvision from PyTorch's CPU-only index first (the default wheels bring about 3 GB of CUDA
# libraries); the rest then keeps them. It acts when the venv is installed: on a fresh clone, or
# after `rm -rf .venv`.
TORCH_INDEX_URL ?=
# Optional extras installed beside dev, e.g. EXTRAS=trackers,timm (CI installs them all).
EXTRAS ?=
comma := ,

.PHONY: install test demo demo-traditional lint clean-runs example gpu-check wheelhouse \
	stress-job-script docs

install: $(STAMP)

ifeq ($(WHEELHOUSE),)
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(if $(TORCH_INDEX_URL),$(BIN)/python -m pip install --quiet torch torchvision --index-url '$(TORCH_INDEX_URL)')
	$(BIN)/python -m pip install --quiet -e '.[dev$(if $(EXTRAS),$(comma)$(EXTRAS))]'
	touch $(STAMP)
else
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv --system-site-packages $(VENV)
	$(BIN)/python -m pip install --quiet --no-index --find-links '$(WHEELHOUSE)' -e '.[cpu]'
	touch $(STAMP)
endif

# Every wheel `make install WHEELHOUSE=DIR` (and so `make gpu-check WHEELHOUSE=DIR`) needs, for
# this Python and platform, into $(WHEELHOUSE_DIR)/: run it where there is network, copy the
# folder to the machine (or cluster) without. PIP_DOWNLOAD_OPTIONS targets another machine, e.g.
# '--platform manylinux2014_x86_64 --python-version 3.11 --only-binary=:all:'.
wheelhouse:
	$(PYTHON) -m pip download --quiet --dest '$(WHEELHOUSE_DIR)' $(PIP_DOWNLOAD_OPTIONS) \
		'.[cpu]' 'setuptools>=77' wheel

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest

demo: $(STAMP)
	$(BIN)/mlrc run --protocol demo

# The traditional (Proxy-Anchor style) protocol in miniature: Tables 2-3 on the synthetic data.
demo-traditional: $(STAMP)
	$(BIN)/mlrc run --protocol traditional-demo

# results/example/: the committed demo rows, tables and figures, from a fresh demo run. The
# tables are then re-rendered from the committed rows alone, so that `mlrc tables results/example`
# reproduces them byte for byte (tests/report/test_example.py checks it).
EXAMPLE_RUN := results/runs/example

example: $(STAMP)
	rm -rf $(EXAMPLE_RUN) results/example
	$(BIN)/mlrc run --protocol demo --run-dir $(EXAMPLE_RUN) --no-progress
	mkdir -p results/example
	cp $(EXAMPLE_RUN)/results.csv results/example/results.csv
	$(BIN)/mlrc tables $(EXAMPLE_RUN) --out results/example
	$(BIN)/mlrc tables results/example --out results/example --no-figures

# One prepared check of the CUDA path, under 8 minutes on one GPU (`mlrc gpu-check`): the tiny
# protocol end to end on CUDA with BN-Inception from random weights (run -> retrain -> tables),
# GPU vs CPU retrieval metrics on the same embeddings, `mlrc profile train --device cuda` (step
# rates, loader, workers with and without the image cache, the CUB projection); then one
# summary. Without a CUDA device it says so and exits 0. No network, no pretrained weights:
# on a bare GPU machine, `make gpu-check WHEELHOUSE=DIR` installs from `make wheelhouse`'s folder.
gpu-check: $(STAMP)
	$(BIN)/mlrc gpu-check

# The job script's signal test 200 times in a row while busy loops load every core (4 each, like
# `stress --cpu`): the race it guards against showed only on a loaded machine. Prints the count
# of failed runs and fails if there is one. Minutes, so not part of `make test`.
STRESS_RUNS ?= 200
stress-job-script: $(STAMP)
	$(BIN)/python tests/cluster/stress_job_script.py --runs $(STRESS_RUNS) --busy-loops-per-core 4

# The documentation site (mkdocs, Material theme) into site/: no web font, CDN or external script,
# so it builds and reads offline. `make test` builds it too, with --strict (tests/test_docs.py).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m mypy

clean-runs:
	rm -rf results/runs
