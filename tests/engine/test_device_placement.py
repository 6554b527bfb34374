"""One device rule: every network that is trained or embedded is on the run's device.

Runs the whole pipeline (study, retrain, untrained baseline, test embeddings) with
``training.device=cuda`` under a recording double of CUDA, on a CPU-only machine.
"""

from __future__ import annotations

import warnings

import pandas as pd
import torch
from logical_device import install_logical_cuda
from torch.utils.data import DataLoader, TensorDataset

from benchmark.cli import main
from benchmark.engine import RunDevice


def _set(overrides: list[str]) -> list[str]:
    return [arg for item in overrides for arg in ("--set", item)]


def test_every_stage_puts_networks_and_batches_on_the_run_device(
    tmp_path, tiny_overrides, monkeypatch
):
    install_logical_cuda(monkeypatch)
    overrides = [
        *tiny_overrides,
        "study.n_trials=1",
        "retrain.repeats=1",
        "training.max_epochs=1",
        "training.device=cuda",
        "training.amp=false",
        "data.num_workers=0",
    ]
    run_dir = tmp_path / "run"
    args = ["run", "--losses", "proxy_anchor", "--run-dir", str(run_dir), "--no-progress"]
    assert main([*args, *_set(overrides)]) == 0
    rows = pd.read_csv(run_dir / "results.csv")
    assert set(rows["loss"]) == {"proxy_anchor", "untrained"}


def test_batches_are_pinned_only_when_torch_sees_a_gpu(monkeypatch):
    install_logical_cuda(monkeypatch)
    run_device = RunDevice(torch.device("cuda"))
    assert run_device.is_cuda and not run_device.pin_memory  # a CUDA run, but no GPU here
    loader = DataLoader(TensorDataset(torch.zeros(4, 2)), pin_memory=run_device.pin_memory)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns when asked to pin without an accelerator
        next(iter(loader))

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert run_device.pin_memory
    assert not RunDevice(torch.device("cpu")).pin_memory
