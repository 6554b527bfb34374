"""A requested loss that gives no result is never a success: `mlrc run`, `mlrc ablate`, `mlrc
study` and `mlrc worker` exit with 1 and one line per such loss, saying why and what to change.

The failures are plugin losses that survive any range check of the configuration: one raises
in every trial, one diverges in every trial."""

from __future__ import annotations

import pytest
import torch
from run_helpers import load_study, set_args, tiny_config

from benchmark.cli import main
from benchmark.losses import register_loss
from benchmark.store.run_directory import RunDirectory


class _Broken(torch.nn.Module):
    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        raise ValueError("planted: this loss cannot compute")


class _Diverging(torch.nn.Module):
    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return embeddings.sum() * float("nan")


@pytest.fixture
def failing_losses(tmp_path) -> list[str]:
    space = tmp_path / "one_param.yaml"
    space.write_text("params:\n  scale: {low: 0.0, high: 1.0, log: false}\n")
    for name, module in (("broken", _Broken), ("diverging", _Diverging)):

        def build(num_classes: int, embedding_size: int, scale: float = 1.0, module=module):
            return module()

        register_loss(name, display=name.title(), kind="pair", search_space=space, replace=True)(
            build
        )
    return ["broken", "diverging"]


@pytest.fixture
def overrides(tiny_overrides) -> list[str]:
    # max_retries=0: a trial that raises is given up (and counted) at once.
    return [*tiny_overrides, "study.max_retries=0", "retrain.repeats=1"]


def _error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error:")]


def test_a_run_whose_losses_give_no_result_exits_1_with_one_line_per_loss(
    tmp_path, failing_losses, overrides, capsys
):
    run_dir = tmp_path / "run"
    args = ["run", "--losses", ",".join(failing_losses), "--run-dir", str(run_dir)]
    assert main([*args, "--no-progress", *set_args(overrides)]) == 1
    errors = _error_lines(capsys.readouterr().err)
    assert len(errors) == 2, errors
    broken, diverging = errors
    assert broken.startswith("error: broken gave no result: study demo.synthetic.broken: ")
    assert "3 different parameter sets raised in a row" in broken and "planted" in broken
    assert diverging.startswith("error: diverging gave no result: study demo.synthetic.diverging")
    assert "spent its budget of 3 trials without a usable one" in diverging
    assert "3 diverged" in diverging and "lower the learning rates" in diverging
    assert "start a new --run-dir" in diverging

    # The rerun resumes, and still produces nothing: still no success.
    assert main([*args, "--no-progress", *set_args(overrides)]) == 1
    assert len(_error_lines(capsys.readouterr().err)) == 2


def test_a_worker_and_a_study_whose_budget_gave_no_usable_trial_exit_1(
    tmp_path, failing_losses, overrides, capsys
):
    run_dir = tmp_path / "run"
    study = ["study", "--loss", "diverging", "--run-dir", str(run_dir), "--no-progress"]
    assert main([*study, *set_args(overrides)]) == 1
    (line,) = _error_lines(capsys.readouterr().err)
    assert "spent its budget of 3 trials without a usable one" in line

    # A worker attached later (a Slurm array task) finds the study spent: exit 1 too.
    worker = ["worker", "--run-dir", str(run_dir), "--loss", "diverging", "--no-progress"]
    assert main(worker) == 1
    (line,) = _error_lines(capsys.readouterr().err)
    assert line.startswith("error: diverging gave no result: study demo.synthetic.diverging")
    trials = load_study(run_dir, "diverging").trials
    assert len(trials) == 3 and {t.user_attrs["failure"] for t in trials} == {"diverged"}


def test_a_worker_of_a_study_with_a_result_exits_0(tmp_path, overrides, capsys, monkeypatch):
    monkeypatch.setattr(
        "benchmark.search.worker.evaluate_params",
        lambda context, loss, params, trial: sum(params.values()) % 1.0,
    )
    run_dir = RunDirectory(tmp_path / "run")
    run_dir.initialise(tiny_config(overrides), [], None)
    assert main(["worker", "--run-dir", str(run_dir.path), "--loss", "contrastive"]) == 0
    assert not _error_lines(capsys.readouterr().err)


def test_an_ablation_whose_point_gives_no_result_exits_1_naming_the_point(
    tmp_path, failing_losses, overrides, capsys
):
    args = ["ablate", "embedding-dim", "--protocol", "demo", "--values", "32"]
    args += ["--losses", "broken", "--run-dir", str(tmp_path / "ablation"), "--no-progress"]
    assert main([*args, *set_args(overrides)]) == 1
    (line,) = _error_lines(capsys.readouterr().err)
    assert line.startswith("error: embedding_size-32/broken gave no result: ")
    assert "raised in a row" in line and "planted" in line
