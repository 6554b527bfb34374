"""The search's fold seeds and the retrain seeds never meet, for any sampler seed and offset,
and the shipped protocols keep the seeds they always had (so `make demo` is unchanged)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from benchmark.config import MAX_FOLDS, load_protocol
from benchmark.errors import ConfigError
from benchmark.search.seeds import retrain_seed, search_fold_seed
from benchmark.search.worker import fold_seed

SAMPLER_SEEDS = range(101)
SEED_OFFSETS = (0, 1, 3, 4, 49, 50, 99, 100, 950, 999, 1000, 1001, 1050, 2000, 5003, 123_456)
N_FOLDS = (2, 4, 5, 10, MAX_FOLDS)
REPEATS = 120  # beyond 10, so that raising a run's repeats can never create a collision


def _context(sampler_seed: int, seed_offset: int, n_folds: int) -> SimpleNamespace:
    config = SimpleNamespace(
        study=SimpleNamespace(sampler=SimpleNamespace(seed=sampler_seed)),
        retrain=SimpleNamespace(seed_offset=seed_offset),
        data=SimpleNamespace(n_folds=n_folds),
    )
    return SimpleNamespace(config=config)


@pytest.mark.parametrize("n_folds", N_FOLDS)
@pytest.mark.parametrize("seed_offset", SEED_OFFSETS)
def test_fold_seeds_of_the_search_are_never_retrain_seeds(seed_offset, n_folds):
    retrain = {
        retrain_seed(seed_offset, repeat, fold)
        for repeat in range(REPEATS)
        for fold in range(n_folds)
    }
    assert len(retrain) == REPEATS * n_folds
    for sampler_seed in SAMPLER_SEEDS:
        context = _context(sampler_seed, seed_offset, n_folds)
        search = [fold_seed(context, fold) for fold in range(n_folds)]
        assert len(set(search)) == n_folds, (sampler_seed, search)
        assert not set(search) & retrain, (sampler_seed, sorted(set(search) & retrain))


def test_sampler_seed_1_no_longer_replays_retrain_repeat_0():
    context = _context(1, 1000, 4)
    assert [retrain_seed(1000, 0, fold) for fold in range(4)] == [1000, 1001, 1002, 1003]
    assert [fold_seed(context, fold) for fold in range(4)] == [1050, 1051, 1052, 1053]


@pytest.mark.parametrize("protocol", ["demo", "mlrc", "traditional", "traditional-demo"])
def test_shipped_protocols_keep_their_seeds(protocol):
    """Sampler seed 0 and offset 1000: folds from 0..3, repeat r from 1000 + 100 r + k, as
    before the two were kept apart, so the demo's numbers do not move."""
    config = load_protocol(protocol)
    context = SimpleNamespace(config=config)
    n_folds = config.data.n_folds
    assert (config.study.sampler.seed, config.retrain.seed_offset) == (0, 1000)
    assert [fold_seed(context, k) for k in range(n_folds)] == list(range(n_folds))
    assert [retrain_seed(config.retrain.seed_offset, 2, k) for k in range(n_folds)] == [
        1200 + k for k in range(n_folds)
    ]


def test_moved_seeds_keep_clear_of_every_unmoved_fold_seed():
    # Offset 0: every fold seed has a retrain seed's form and moves; none lands on another.
    seeds = {search_fold_seed(s, k, 0, MAX_FOLDS) for s in SAMPLER_SEEDS for k in range(MAX_FOLDS)}
    assert len(seeds) == len(SAMPLER_SEEDS) * MAX_FOLDS


def test_more_folds_than_the_seed_scheme_keeps_apart_are_refused():
    with pytest.raises(ConfigError, match=rf"data.n_folds must be in \[2, {MAX_FOLDS}\]"):
        load_protocol("demo", None, [f"data.n_folds={MAX_FOLDS + 1}"])
