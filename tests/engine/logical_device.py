"""A recording double of CUDA for a CPU-only machine: tensors and modules sent to ``cuda`` stay
on the CPU but remember the device they were sent to, and the embedding network refuses a batch
whose remembered device differs from its parameters'. A pipeline that forgets to move a network
(or its batches) to the run's device fails here exactly as it would on a GPU.

A device transform (uint8 pixels -> the network's input) computes on the device of its batch:
its output remembers the batch's device, so a batch finished on the host and never moved fails
the network's check; pixels on ``cuda`` are normalised as on a GPU, by table lookup. Every tensor copied to ``cuda`` is recorded (:data:`COPIES`): its dtype,
shape and whether the copy was ``non_blocking``."""

from __future__ import annotations

import pytest
import torch

import benchmark.engine.device as device_module
from benchmark.data.device_transform import DeviceTransform, PixelCrops, PixelNormalization
from benchmark.models import EmbeddingModel

ATTRIBUTE = "_logical_device"
COPIES: list[tuple[torch.dtype, tuple[int, ...], bool]] = []
"""``(dtype, shape, non_blocking)`` of every tensor copied to ``cuda`` since the double was
installed."""


def logical_device(tensor: torch.Tensor) -> str:
    return getattr(tensor, ATTRIBUTE, "cpu")


class DeviceMismatch(AssertionError):
    """A network met a batch on another device (a crash on a real GPU)."""


def install_logical_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    """Patch torch so that ``.to("cuda")`` keeps data on the CPU and records ``"cuda"``."""
    original_tensor_to = torch.Tensor.to
    original_module_to = torch.nn.Module.to
    original_load = torch.load
    original_forward = EmbeddingModel.forward

    def parse(*args, **kwargs):
        device, dtype, non_blocking, memory_format = torch._C._nn._parse_to(*args, **kwargs)
        cpu_kwargs = {"device": "cpu", "non_blocking": non_blocking}
        if dtype is not None:
            cpu_kwargs["dtype"] = dtype
        if memory_format is not None:
            cpu_kwargs["memory_format"] = memory_format
        return device, cpu_kwargs

    def tensor_to(self, *args, **kwargs):
        device, cpu_kwargs = parse(*args, **kwargs)
        if device is not None and device.type == "cuda" and logical_device(self) != "cuda":
            COPIES.append((self.dtype, tuple(self.shape), bool(cpu_kwargs["non_blocking"])))
        moved = original_tensor_to(self, **cpu_kwargs)
        setattr(moved, ATTRIBUTE, device.type if device is not None else logical_device(self))
        return moved

    def module_to(self, *args, **kwargs):
        device, cpu_kwargs = parse(*args, **kwargs)
        cpu_kwargs.pop("non_blocking")
        moved = original_module_to(self, **cpu_kwargs)
        if device is not None:
            for tensor in [*moved.parameters(), *moved.buffers()]:
                setattr(tensor, ATTRIBUTE, device.type)
        return moved

    def load(*args, map_location=None, **kwargs):
        if map_location is not None and torch.device(map_location).type == "cuda":
            map_location = "cpu"
        return original_load(*args, map_location=map_location, **kwargs)

    def checked_forward(self, images):
        model_devices = {logical_device(p) for p in self.parameters()}
        if model_devices != {logical_device(images)}:
            raise DeviceMismatch(
                f"network on {sorted(model_devices)} got a batch on {logical_device(images)}"
            )
        return original_forward(self, images)

    original_finish = DeviceTransform.__call__

    def finish_where_the_batch_is(self, batch):
        pixels = batch.pixels if isinstance(batch, PixelCrops) else batch
        inputs = original_finish(self, batch)
        setattr(inputs, ATTRIBUTE, logical_device(pixels))
        return inputs

    original_normalize = PixelNormalization.__call__

    def normalize_as_the_device_does(self, pixels, channel_dim):
        if logical_device(pixels) == "cuda":
            return self.lookup(pixels, channel_dim)
        return original_normalize(self, pixels, channel_dim)

    COPIES.clear()
    # Our device rule accepts "cuda" (torch itself must keep seeing no GPU).
    monkeypatch.setattr(device_module, "cuda_is_available", lambda: True, raising=False)
    monkeypatch.setattr(torch.Tensor, "pin_memory", lambda self, *args, **kwargs: self)
    monkeypatch.setattr(torch.Tensor, "to", tensor_to)
    monkeypatch.setattr(torch.nn.Module, "to", module_to)
    monkeypatch.setattr(torch, "load", load)
    monkeypatch.setattr(EmbeddingModel, "forward", checked_forward)
    monkeypatch.setattr(DeviceTransform, "__call__", finish_where_the_batch_is)
    monkeypatch.setattr(PixelNormalization, "__call__", normalize_as_the_device_does)
