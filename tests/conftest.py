"""Shared test settings: a persistent synthetic-data cache and a tiny protocol for end-to-end tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent

# Generated synthetic datasets are reused across test sessions (git-ignored), and subprocesses
# started by the tests inherit the same cache.
os.environ.setdefault("MLRC_CACHE_DIR", str(REPO / ".cache" / "test-data"))

# One torch thread per test process: subprocess tests run workers side by side, and on a shared
# 2-core machine intra-op threads oversubscribe the cores and make small networks 10x slower.
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")

# The demo protocol shrunk to seconds: 48 synthetic classes (24 train+val -> folds of 18 train /
# 6 validation classes, 24 test classes), 8 images each, a few iterations per fold.
TINY_OVERRIDES = [
    "data.synthetic_classes=48",
    "data.synthetic_images_per_class=8",
    "training.batch_size=16",
    "training.iterations_per_epoch=3",
    "training.eval_every_epochs=1",
    "training.patience_epochs=1",
    "training.max_epochs=2",
    "training.eval_batch_size=64",
    "study.n_trials=3",
    "study.sampler.n_startup_trials=2",
    "retrain.repeats=2",
]


@pytest.fixture
def tiny_overrides() -> list[str]:
    return list(TINY_OVERRIDES)


@pytest.fixture(autouse=True)
def isolated_loss_registry():
    """Losses registered by a test (plugins, failing losses) do not leak into later tests."""
    from benchmark.losses import registry_restored

    with registry_restored():
        yield
