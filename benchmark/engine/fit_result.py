"""The outcome of one training run, as stored in its ``result.json``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class FitResult:
    """What one :meth:`~benchmark.engine.Trainer.fit` produced.

    Attributes:
        best_val_map_at_r: the best validation MAP@R after at least one epoch of training (the
            fold's score in a trial, and the early-stopping criterion).
        best_iteration: the training iteration of the best checkpoint.
        iterations: iterations trained in total when the run stopped.
        wall_time_s: seconds spent training and validating, summed over resumed sessions.
        curve: one row per validation: iteration, epoch, mean training loss since the previous
            validation (None at epoch 0), ``val_map_at_r``, ``val_precision_at_1``,
            ``val_r_precision``.
        checkpoint_path: the best checkpoint, or None when it was not kept.
        best_epoch: the epoch of the best checkpoint.
        epochs: epochs trained in total.
        stopped_early: True when patience ran out before ``max_epochs``.
    """

    best_val_map_at_r: float
    best_iteration: int
    iterations: int
    wall_time_s: float
    curve: list[dict[str, Any]] = field(default_factory=list)
    checkpoint_path: Path | None = None
    best_epoch: int = 0
    epochs: int = 0
    stopped_early: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["checkpoint_path"] = str(self.checkpoint_path) if self.checkpoint_path else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FitResult:
        data = dict(data)
        path = data.get("checkpoint_path")
        data["checkpoint_path"] = Path(path) if path else None
        known = cls.__dataclass_fields__
        return cls(**{key: value for key, value in data.items() if key in known})
