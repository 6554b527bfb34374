"""The samplers a protocol names: TPE, and MLRC's Sobol start-up followed by a GP."""

from __future__ import annotations

import math

import optuna
import pytest
from run_helpers import tiny_config

from benchmark.config import SamplerConfig
from benchmark.losses import get_loss_spec
from benchmark.losses.search_space import load_search_space
from benchmark.search.context import StudyContext
from benchmark.search.study_factory import build_sampler, load_study
from benchmark.search.worker import run_worker
from benchmark.store.run_directory import RunDirectory

GP = SamplerConfig(kind="gp", seed=3, n_startup_trials=5)


def _ask(study: optuna.Study, space, n_existing: int) -> optuna.Trial:
    """Ask as a worker does: a sampler seeded for the trial about to be created."""
    study.sampler = build_sampler(GP, space, n_existing)
    trial = study.ask()
    space.suggest(trial)
    return trial


def _objective(params: dict[str, float]) -> float:
    return -((math.log10(params["alpha"]) - 0.5) ** 2) - (params["base"] - 0.7) ** 2


def test_gp_start_up_trials_are_distinct_sobol_points_the_same_for_every_study():
    space = load_search_space(get_loss_spec("mfcwms"), "cub")
    runs = []
    for _ in range(2):
        study = optuna.create_study(direction="maximize")
        runs.append([_ask(study, space, n).params for n in range(5)])
    assert runs[0] == runs[1], "the start-up design is not a pure function of the seed"
    points = runs[0]
    assert len({tuple(sorted(p.items())) for p in points}) == 5
    for params in points:
        for name, value in params.items():
            assert space.params[name].low <= value <= space.params[name].high
    # A Sobol design covers the range: no two start-up points share a quarter in both alpha and base
    cells = {(int(4 * (p["alpha"] - 0.001) / 100), int(4 * p["base"])) for p in points}
    assert len(cells) >= 4


def test_after_the_start_up_the_gp_asks_for_distinct_points_while_trials_run():
    space = load_search_space(get_loss_spec("mfcwms"), "synthetic")
    study = optuna.create_study(direction="maximize")
    for n in range(5):
        trial = _ask(study, space, n)
        study.tell(trial, _objective(trial.params))
    running = [_ask(study, space, 5 + k) for k in range(3)]  # three workers, none finished
    keys = {tuple(sorted(t.params.items())) for t in running}
    assert len(keys) == 3, "parallel workers were given the same parameters"


def test_a_gp_study_runs_end_to_end(tmp_path, tiny_overrides):
    overrides = [
        *tiny_overrides, "study.n_trials=3", "study.sampler.kind=gp",
        "study.sampler.n_startup_trials=2", "training.max_epochs=1",
    ]  # fmt: skip
    context = StudyContext.create(
        tiny_config(overrides), RunDirectory(tmp_path / "run"), progress=False
    )
    run_worker(context, "contrastive")
    study = load_study(context, "contrastive")
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 3
    assert study.user_attrs["sampler"]["kind"] == "gp"
    # optuna-dashboard names the objective, rather than "Objective 0".
    assert study.metric_names == ["mean validation MAP@R"]


@pytest.mark.parametrize("kind", ["tpe", "gp"])
def test_every_sampler_setting_is_explicit_in_the_shipped_protocols(kind):
    from benchmark.config import available_protocols, protocol_path, read_yaml

    for name in available_protocols():
        sampler = read_yaml(protocol_path(name)).get("study", {}).get("sampler", {})
        assert {"kind", "seed", "n_startup_trials"} <= set(sampler), (
            f"{name}: sampler settings implicit"
        )


def test_sobol_start_up_gives_every_integer_of_a_range_an_equal_share():
    """Integer ends are not halved: [1, 4] is cut into four equal quarters of the unit range."""
    from optuna.distributions import IntDistribution

    from benchmark.search.sobol_startup import SobolStartupSampler

    distributions = {"bins": IntDistribution(1, 4)}
    sampler = SobolStartupSampler(distributions, 64, seed=0, then=optuna.samplers.RandomSampler())
    study = optuna.create_study(sampler=sampler)
    values = [study.ask(distributions).params["bins"] for _ in range(64)]
    assert all(isinstance(value, int) for value in values)
    assert {value: values.count(value) for value in (1, 2, 3, 4)} == {1: 16, 2: 16, 3: 16, 4: 16}


@pytest.mark.parametrize("kind", ["tpe", "gp"])
def test_samplers_suggest_integers_for_an_integer_range(kind):
    """FastAP's num_bins through the protocol samplers: start-up and model-based trials."""
    space = load_search_space(get_loss_spec("fastap"), "cub")
    settings = SamplerConfig(kind=kind, seed=1, n_startup_trials=3)
    study = optuna.create_study(direction="maximize")
    for n in range(6):
        study.sampler = build_sampler(settings, space, n)
        trial = study.ask()
        bins = space.suggest(trial)["num_bins"]
        assert isinstance(bins, int) and 2 <= bins <= 250
        study.tell(trial, -abs(bins - 40))
