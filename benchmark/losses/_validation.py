"""Argument checks shared by the paper's losses: hyperparameter ranges and batch labels."""

from __future__ import annotations

import torch

from benchmark.errors import ConfigError


def check_hyperparameters(
    loss: str,
    positive: dict[str, float],
    mf_reg: float | None = None,
    mf_power: float | None = None,
) -> None:
    """Raise ConfigError naming the hyperparameter of ``loss`` that is out of range."""
    for name, value in positive.items():
        if not value > 0:
            raise ConfigError(f"{loss}: hyperparameter {name} must be > 0, got {value}")
    if mf_reg is not None and not mf_reg >= 0:
        raise ConfigError(f"{loss}: hyperparameter mf_reg must be >= 0, got {mf_reg}")
    if mf_power is not None and not mf_power >= 1:
        raise ConfigError(f"{loss}: hyperparameter mf_power must be >= 1, got {mf_power}")


def check_labels(batch_classes: torch.Tensor, num_classes: int) -> None:
    """Raise ValueError unless the sorted distinct labels of a batch lie in 0..num_classes-1."""
    low, high = int(batch_classes[0]), int(batch_classes[-1])
    if low < 0 or high >= num_classes:
        raise ValueError(
            f"labels must lie in 0..{num_classes - 1} (the loss was built for {num_classes} "
            f"classes), got labels from {low} to {high}; remap the split's labels to 0..C-1"
        )
