"""A study searches the space resolved for its run's dataset, records it, and keeps to it."""

from __future__ import annotations

import pytest
import torch
from run_helpers import tiny_config

from benchmark.errors import ConfigError
from benchmark.losses import register_loss
from benchmark.search.context import StudyContext
from benchmark.search.study_factory import load_study
from benchmark.search.worker import run_worker
from benchmark.store.run_directory import RunDirectory

SPACE = """
params:
  pos_margin: {low: 0.0, high: 1.0, log: false}
datasets:
  synthetic: {params: {pos_margin: {high: 0.1}}}
"""


@pytest.fixture
def narrow_loss(tmp_path):
    space = tmp_path / "narrow.yaml"
    space.write_text(SPACE)

    @register_loss("narrow", display="Narrow", kind="pair", search_space=space, replace=True)
    def build(num_classes: int, embedding_size: int, pos_margin: float = 0.0) -> torch.nn.Module:
        from pytorch_metric_learning.losses import ContrastiveLoss

        return ContrastiveLoss(pos_margin=pos_margin)

    return space


def test_the_study_searches_and_records_the_datasets_range(tmp_path, tiny_overrides, narrow_loss):
    config = tiny_config([*tiny_overrides, "study.n_trials=2", "training.max_epochs=1"])
    context = StudyContext.create(config, RunDirectory(tmp_path / "run"), progress=False)
    run_worker(context, "narrow")

    study = load_study(context, "narrow")
    assert study.user_attrs["search_space"] == {
        "params": {"pos_margin": {"low": 0.0, "high": 0.1, "log": False}},
        "fixed": {},
    }
    assert all(0.0 <= trial.params["pos_margin"] <= 0.1 for trial in study.trials)

    narrow_loss.write_text(SPACE.replace("high: 0.1", "high: 0.2"))
    with pytest.raises(ConfigError, match="was searched over .* start a new --run-dir"):
        run_worker(StudyContext.attach(context.run_dir, progress=False), "narrow")


def test_the_study_searches_the_range_of_its_runs_batch_size(tmp_path, tiny_overrides, narrow_loss):
    """FastAP's case: MLRC searched other bounds at batch 256 than at batch 32."""
    narrow_loss.write_text(SPACE + "batch_sizes:\n  8: {params: {pos_margin: {low: 0.05}}}\n")
    config = tiny_config([*tiny_overrides, "study.n_trials=2", "training.max_epochs=1"])
    assert config.training.batch_size >= 8
    context = StudyContext.create(config, RunDirectory(tmp_path / "run"), progress=False)
    run_worker(context, "narrow")

    study = load_study(context, "narrow")
    assert study.user_attrs["search_space"]["params"]["pos_margin"] == {
        "low": 0.05,
        "high": 0.1,
        "log": False,
    }
    assert all(0.05 <= trial.params["pos_margin"] <= 0.1 for trial in study.trials)
