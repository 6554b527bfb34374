"""Seeding every random number generator a training run draws from."""

from __future__ import annotations

import random

import numpy as np
import torch
from pytorch_metric_learning.utils import common_functions as pml_common


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global RNG, PML's NumPy RNG (the samplers) and torch."""
    seed = int(seed) % 2**32
    random.seed(seed)
    np.random.seed(seed)
    pml_common.NUMPY_RANDOM.seed(seed)  # np.random itself unless a user replaced it
    torch.manual_seed(seed)


def derive_seed(*parts: int) -> int:
    """A 32-bit seed that is a pure function of ``parts`` (e.g. ``(run_seed, epoch)``)."""
    return int(np.random.SeedSequence([int(p) % 2**63 for p in parts]).generate_state(1)[0])


def seed_epoch(seed: int, epoch: int) -> None:
    """Make everything drawn during ``epoch`` of the run ``seed`` a pure function of
    ``(seed, epoch)``: Python's ``random``, NumPy's global RNG and torch."""
    epoch_seed = derive_seed(seed, epoch)
    random.seed(epoch_seed)
    np.random.seed(epoch_seed)
    torch.manual_seed(epoch_seed)
