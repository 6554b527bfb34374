"""The seeds a run trains from: the search's fold seeds and the retrain seeds, never the same.

Every trial of a study trains fold k from the same seed (common random numbers: two trials
differ only in their hyperparameters), ``1000 x study.sampler.seed + k``. The retrain stage (and
the untrained baseline) trains repeat r's fold k from ``retrain.seed_offset + 100 r + k``, the
same for every loss, so that the test numbers never come from the seeds the search chose its
configuration on. The two formulas meet (``sampler.seed = 1`` gives 1000..1003, repeat 0's seeds
under the default offset 1000; seed 2 gives repeat 10's), so a fold seed that has the form of a
retrain seed for *any* repeat moves up by 50, where no retrain seed lies while
``data.n_folds <= 50``. Counting every repeat, not only ``retrain.repeats``, keeps the fold seeds
fixed if a run's repeats are raised later. Seeds that collide with nothing stay as they were:
sampler seed 0 (the shipped protocols) trains folds from 0..n_folds-1.
"""

from __future__ import annotations

from benchmark.config import MAX_FOLDS

SEARCH_SEED_STRIDE = 1000
"""Fold seeds of sampler seed s start at 1000 s."""
RETRAIN_REPEAT_STRIDE = 100
"""Repeat r's retrain seeds start at ``seed_offset + 100 r``."""
COLLISION_SHIFT = RETRAIN_REPEAT_STRIDE - MAX_FOLDS
"""How far a fold seed that has the form of a retrain seed moves: past every fold of a repeat
(``n_folds <= MAX_FOLDS``) and short of the next repeat's."""


def retrain_seed(seed_offset: int, repeat: int, fold: int) -> int:
    """The seed of fold ``fold`` of retrain repeat ``repeat`` (and of the untrained baseline)."""
    return seed_offset + RETRAIN_REPEAT_STRIDE * repeat + fold


def is_retrain_seed(seed: int, seed_offset: int, n_folds: int) -> bool:
    """Whether ``seed`` is :func:`retrain_seed` of some repeat >= 0 and fold < ``n_folds``."""
    return seed >= seed_offset and (seed - seed_offset) % RETRAIN_REPEAT_STRIDE < n_folds


def search_fold_seed(sampler_seed: int, fold: int, seed_offset: int, n_folds: int) -> int:
    """The seed every trial of the search trains fold ``fold`` from; never a retrain seed."""
    seed = SEARCH_SEED_STRIDE * sampler_seed + fold
    if is_retrain_seed(seed, seed_offset, n_folds):
        seed += COLLISION_SHIFT
    return seed
