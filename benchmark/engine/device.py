"""The one device rule of a run: where networks and batches go, and in which precision.

Every network that is trained or embedded goes through :meth:`RunDevice.place_model`, every
mini-batch through :meth:`RunDevice.place_images` / :meth:`RunDevice.place_labels`, and every
forward pass runs under :meth:`RunDevice.autocast`. Validation and test embeddings are computed
with the same ``RunDevice``, so they share precision and memory format by construction.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch

from benchmark.config import TrainingConfig
from benchmark.errors import ConfigError


def cuda_is_available() -> bool:
    return torch.cuda.is_available()


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` is the first CUDA device when one is available, else the CPU.

    An explicit CUDA device on a machine without one is a configuration error, raised here
    rather than deep inside the first forward pass.
    """
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if cuda_is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise ConfigError(
            f"training.device: '{device}' is not a device; use auto, cpu, cuda or cuda:N"
        ) from None
    if resolved.type == "cuda" and not cuda_is_available():
        raise ConfigError(
            f"training.device is '{device}' but torch sees no CUDA device here; "
            "use --set training.device=auto (or cpu)"
        )
    return resolved


@dataclass(frozen=True)
class RunDevice:
    """Where a run computes and how: the device, bf16 autocast, channels_last.

    Args:
        device: the torch device every network and batch goes to.
        amp: bf16 autocast of forward passes (CUDA only; the CPU always computes in fp32).
        channels_last: channels_last memory format for networks and images (CUDA only).
        tf32: allow TF32 math in fp32 convolutions and matmuls (CUDA only); set for the whole
            process when a network is placed.
    """

    device: torch.device
    amp: bool = False
    channels_last: bool = False
    tf32: bool = False

    @classmethod
    def from_config(cls, config: TrainingConfig) -> RunDevice:
        return cls(resolve_device(config.device), config.amp, config.channels_last, config.tf32)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def memory_format(self) -> torch.memory_format:
        return (
            torch.channels_last if self.channels_last and self.is_cuda else torch.contiguous_format
        )

    @property
    def pin_memory(self) -> bool:
        """Page-locked host batches for faster copies: only for a CUDA run on a machine whose
        torch sees a GPU (pinning needs the CUDA runtime; without it torch warns and skips)."""
        return self.is_cuda and torch.cuda.is_available()

    def place_model(self, model: torch.nn.Module) -> torch.nn.Module:
        """Move a network to the run's device and memory format (in place; returned for chaining),
        and set the process's fp32 math mode (TF32 or not) for that device."""
        if self.is_cuda:
            torch.backends.cuda.matmul.allow_tf32 = self.tf32
            torch.backends.cudnn.allow_tf32 = self.tf32
        # torch's stubs leave out Module.to's memory_format (it takes it, as Tensor.to does)
        return model.to(self.device, memory_format=self.memory_format)  # type: ignore[call-overload]

    def place_module(self, module: torch.nn.Module) -> torch.nn.Module:
        """Move a non-convolutional module (a loss with parameters) to the run's device."""
        return module.to(self.device)

    def place_images(self, images: torch.Tensor) -> torch.Tensor:
        return images.to(self.device, non_blocking=True, memory_format=self.memory_format)

    def place_labels(self, labels: torch.Tensor | np.ndarray) -> torch.Tensor:
        return torch.as_tensor(labels).to(self.device, torch.int64, non_blocking=True)

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast on CUDA when ``amp``; a no-op elsewhere."""
        if self.amp and self.is_cuda:
            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def describe(self) -> str:
        if self.amp and self.is_cuda:
            precision = "bf16 autocast"
        else:
            precision = "fp32 with TF32" if self.tf32 and self.is_cuda else "fp32"
        layout = ", channels_last" if self.memory_format == torch.channels_last else ""
        return f"{self.device} ({precision}{layout})"
