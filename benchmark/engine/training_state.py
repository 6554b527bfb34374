"""The bookkeeping of one training run (saved with its weights) and its stop rule."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from benchmark.config import TrainingConfig


@dataclass
class TrainingState:
    """The bookkeeping of a run, saved in ``last.pt`` with the weights."""

    epoch: int = 0
    iteration: int = 0
    best_val_map_at_r: float = -math.inf
    best_epoch: int = 0
    best_iteration: int = 0
    last_eval_epoch: int = 0
    wall_time_s: float = 0.0
    curve: list[dict[str, Any]] = field(default_factory=list)

    def stop_reached(self, config: TrainingConfig) -> bool:
        """At ``max_epochs``; else, checked at validations, MLRC's rule ``epoch - best_epoch >
        patience_epochs``, or with ``patience_evaluations`` that many evaluations in a row
        without a new best."""
        if self.epoch >= config.max_epochs:
            return True
        if config.patience_evaluations > 0:
            since_best = sum(row["epoch"] > self.best_epoch for row in self.curve[1:])
            return since_best >= config.patience_evaluations
        return self.last_eval_epoch - self.best_epoch > config.patience_epochs
