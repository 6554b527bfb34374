"""One device rule: every network that is trained or embedded is on the run's device.

Runs the whole pipeline (study, retrain, untrained baseline, test embeddings) with
``training.device=cuda`` under a recording double of CUDA, on a CPU-only machine.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
import torch
from logical_device import COPIES, install_logical_cuda, logical_device
from torch.utils.data import DataLoader, TensorDataset

from benchmark.cli import main
from benchmark.config import DataConfig, ModelConfig
from benchmark.data import build_transforms, image_set_for_classes, read_cub
from benchmark.engine import RunDevice, embed
from benchmark.models import build_model
from benchmark.profiling.cub_jpeg import ensure_cub_jpeg_tree


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
    image_batches = [(dtype, blocking) for dtype, shape, blocking in COPIES if len(shape) == 4]
    assert image_batches, "no image batch was copied to the device"
    assert set(image_batches) == {(torch.uint8, True)}  # uint8, copied without waiting


@pytest.mark.parametrize("transform", ["bninception", "imagenet"])
@pytest.mark.parametrize("channels_last", [False, True])
def test_mlrc_batches_cross_as_uint8_and_become_the_cpu_input_on_the_device(
    tmp_path, monkeypatch, transform, channels_last
):
    tree = ensure_cub_jpeg_tree(4, 2, image_size=40, image_height=30, cache_dir=tmp_path)
    data = DataConfig(transform=transform, resize=36, image_size=32)
    _, eval_tf = build_transforms(data)
    images = image_set_for_classes(read_cub(tree), range(4), eval_tf)
    model = build_model(ModelConfig(trunk="small_cnn", weights="none", small_cnn_width=4))
    seen = []
    original_trunk_forward = type(model.trunk).forward

    def recording_trunk(self, batch):
        seen.append((logical_device(batch), batch))
        return original_trunk_forward(self, batch)

    monkeypatch.setattr(type(model.trunk), "forward", recording_trunk)
    embed(model, images, RunDevice(torch.device("cpu")), batch_size=3)
    on_cpu, seen[:] = [batch for _, batch in seen], []
    install_logical_cuda(monkeypatch)
    run_device = RunDevice(torch.device("cuda"), channels_last=channels_last)
    embed(model, images, run_device, batch_size=3)
    assert [(dtype, shape[0]) for dtype, shape, _ in COPIES if len(shape) == 4] == [
        (torch.uint8, 3), (torch.uint8, 3), (torch.uint8, 2)
    ]  # fmt: skip
    assert {device for device, _ in seen} == {"cuda"}
    format_ = torch.channels_last if channels_last else torch.contiguous_format
    for (_, on_cuda), expected in zip(seen, on_cpu, strict=True):
        assert on_cuda.dtype == torch.float32 and on_cuda.is_contiguous(memory_format=format_)
        assert torch.equal(on_cuda, expected)  # the CPU's input, bit for bit


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
