"""On a cluster too, nothing produced is never success: a study job whose loss gives no result
fails (its retrain job too), and a submit whose folds cannot fill a batch is refused before any
job is queued."""

from __future__ import annotations

import pytest
from fake_slurm import FakeSlurm
from slurm_helpers import final_states, logs, set_args, wait_for_jobs, write_profile

from benchmark.cli import main

# A plugin loss that diverges in every trial: it survives any range check of the settings.
PLUGIN = """
import torch

from benchmark.losses import register_loss


class Diverging(torch.nn.Module):
    def forward(self, embeddings, labels):
        return embeddings.sum() * float("nan")


@register_loss("diverging", display="Diverging", kind="pair", search_space="one_param.yaml")
def build(num_classes: int, embedding_size: int, scale: float = 1.0):
    return Diverging()
"""


@pytest.mark.slurm
def test_the_study_and_retrain_jobs_of_a_loss_without_a_result_fail(
    tmp_path, slurm_cluster, tiny_overrides
):
    plugin = tmp_path / "diverging.py"
    plugin.write_text(PLUGIN)
    (tmp_path / "one_param.yaml").write_text(
        "params:\n  scale: {low: 0.0, high: 1.0, log: false}\n"
    )
    overrides = [*tiny_overrides, "study.n_trials=2", "retrain.repeats=1"]
    run_dir = tmp_path / "run"
    submit = ["--plugin", str(plugin), "slurm", "submit", "--losses", "diverging"]
    submit += ["--profile", str(write_profile(tmp_path)), "--run-dir", str(run_dir)]
    assert main([*submit, *set_args(overrides)]) == 0

    states = final_states(wait_for_jobs(run_dir, timeout=300))
    assert states["study-diverging"] == {"FAILED"}, logs(run_dir)
    assert states["retrain-diverging"] == {"FAILED"}
    assert states["retrain-untrained"] == states["tables"] == {"COMPLETED"}
    study_log = next((run_dir / "slurm" / "logs").glob("*study-diverging*")).read_text()
    assert "error: diverging gave no result: study demo.synthetic.diverging spent its" in study_log


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch) -> FakeSlurm:
    fake = FakeSlurm(tmp_path / "fake-slurm")
    monkeypatch.setenv("PATH", fake.path)
    return fake


def test_a_submit_whose_folds_cannot_fill_a_batch_queues_nothing(
    tmp_path, fake_slurm, tiny_overrides, capsys
):
    run_dir = tmp_path / "run"
    args = ["slurm", "submit", "--losses", "mfcwms", "--profile", str(write_profile(tmp_path))]
    # 48 synthetic classes: folds of 18 training classes; mfcwms draws 32 of them per batch.
    args += ["--run-dir", str(run_dir), *set_args([*tiny_overrides, "training.batch_size=32"])]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "error: fold 0 trains on 18 classes (folds 1, 2, 3 too), but a batch of 32 at 1 image "
        "per class (mfcwms) needs 32 distinct classes"
    )
    assert fake_slurm.calls("sbatch") == [] and not run_dir.exists()
