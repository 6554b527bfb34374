"""MLRC's precision by default, and validation and test embeddings computed alike."""

from __future__ import annotations

import pandas as pd
import pytest

import benchmark.crossval.cross_validation as cross_validation_module
import benchmark.engine.evaluation as evaluation_module
from benchmark.cli import main
from benchmark.config import load_protocol


@pytest.mark.parametrize("dataset", ["cub", "cars196", "sop"])
def test_the_mlrc_protocol_trains_and_evaluates_in_fp32(dataset):
    training = load_protocol("mlrc", dataset).training
    assert (training.amp, training.channels_last, training.tf32) == (False, False, False)


def test_validation_and_test_embeddings_share_precision_and_memory_format(
    tmp_path, tiny_overrides, monkeypatch
):
    seen = {"validation": [], "test": []}

    def recording(module, stage):
        real_embed = module.embed

        def embed(model, dataset, run_device, **kwargs):
            seen[stage].append(run_device)
            return real_embed(model, dataset, run_device, **kwargs)

        monkeypatch.setattr(module, "embed", embed)

    recording(evaluation_module, "validation")
    recording(cross_validation_module, "test")
    overrides = [
        *tiny_overrides, "study.n_trials=1", "retrain.repeats=1", "training.max_epochs=1",
        "training.amp=true", "training.channels_last=true",
    ]  # fmt: skip
    args = ["run", "--losses", "contrastive", "--run-dir", str(tmp_path / "run"), "--no-progress"]
    assert main([*args, *[a for o in overrides for a in ("--set", o)]]) == 0
    assert set(pd.read_csv(tmp_path / "run" / "results.csv")["loss"]) == {
        "contrastive",
        "untrained",
    }
    assert seen["validation"] and seen["test"]
    devices = set(seen["validation"]) | set(seen["test"])
    assert len(devices) == 1, f"validation and test embeddings differ: {devices}"
    (device,) = devices
    assert device.amp and device.channels_last
