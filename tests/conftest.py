"""Shared test settings: a persistent synthetic-data cache and a tiny protocol for end-to-end tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from benchmark.cli.gpu_check import TINY_OVERRIDES as GPU_CHECK_TINY_OVERRIDES

REPO = Path(__file__).resolve().parent.parent

# Generated synthetic datasets are reused across test sessions (git-ignored), and subprocesses
# started by the tests inherit the same cache.
os.environ.setdefault("MLRC_CACHE_DIR", str(REPO / ".cache" / "test-data"))

# One torch thread per test process: subprocess tests run workers side by side, and on a shared
# 2-core machine intra-op threads oversubscribe the cores and make small networks 10x slower.
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")

# The demo protocol shrunk to seconds: 48 synthetic classes (24 train+val -> folds of 18 train /
# 6 validation classes, 24 test classes), 8 images each, a few iterations per fold. `make
# gpu-check` runs the same tiny protocol on a GPU, so it is defined once, in the package.
TINY_OVERRIDES = list(GPU_CHECK_TINY_OVERRIDES)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """conftest.py files hold fixtures, not doctests: with ``--doctest-modules`` two of them
    (tests/ and tests/cluster/) would both be imported as the module ``conftest``."""
    return True if collection_path.name == "conftest.py" else None


@pytest.fixture
def tiny_overrides() -> list[str]:
    return list(TINY_OVERRIDES)


@pytest.fixture(autouse=True)
def isolated_registries():
    """Losses, datasets and trunks registered by a test (plugins, toy readers) do not leak into
    later tests."""
    from benchmark.registry import registry_restored

    with registry_restored():
        yield
