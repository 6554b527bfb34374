"""``--tracker tensorboard``: each run a folder of event files, nested like the runs.

The event files go under the run directory's ``tracking/tensorboard/`` (or the folder
``--tracking-uri`` names): ``<logdir>/study/<loss>/trial_<n>/fold_<k>/`` per fold of a trial,
``<logdir>/retrain/<loss>/repeat_<r>/fold_<k>/`` per retrained fold. Each fold's folder holds
its curve (scalars ``val_map_at_r``, ..., stepped by iteration), its parameters as text, and
at its end ``summary/*`` scalars and the hyperparameters (TensorBoard's HParams tab). View them
with ``tensorboard --logdir <logdir>``. Writing uses torch's ``SummaryWriter``, which needs the
``tensorboard`` package (its event reader reads them back).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmark.tracking.registry import require_module
from benchmark.tracking.tracker import RunStatus, TrackedRun, TrackerTarget


def build_tensorboard_tracker(target: TrackerTarget) -> TensorBoardTracker:
    """TensorBoard event files in the run directory (or in the folder of --tracking-uri)."""
    require_module("tensorboard", "tensorboard", "'mlrc-benchmark[tensorboard]'")
    logdir = Path(target.uri.removeprefix("file://")) if target.uri else target.folder
    return TensorBoardTracker(logdir)


class TensorBoardTracker:
    """One ``SummaryWriter`` per open run, in ``logdir / run.key``."""

    def __init__(self, logdir: Path):
        self.logdir = logdir
        self._writers: dict[str, Any] = {}
        self._last_step: dict[str, int] = {}

    def start_run(self, run: TrackedRun) -> None:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(log_dir=str(self.logdir / run.key))
        text = "\n".join(f"| {k} | {v} |" for k, v in {**run.params, **run.tags}.items())
        writer.add_text("params", f"**{run.name}**\n\n| name | value |\n|---|---|\n{text}", 0)
        self._writers[run.key] = writer
        self._last_step[run.key] = 0

    def log_metrics(self, run: TrackedRun, metrics: Mapping[str, float], step: int) -> None:
        writer = self._writers.get(run.key)
        if writer is None:
            return
        for name, value in metrics.items():
            writer.add_scalar(name, value, step)
        self._last_step[run.key] = max(self._last_step[run.key], step)

    def end_run(self, run: TrackedRun, status: RunStatus, summary: Mapping[str, float]) -> None:
        writer = self._writers.pop(run.key, None)
        if writer is None:
            return
        step = self._last_step.pop(run.key)
        for name, value in summary.items():
            writer.add_scalar(f"summary/{name}", value, step)
        writer.add_text("status", status, step)
        hparams = {k: v for k, v in run.params.items() if isinstance(v, int | float | str | bool)}
        if hparams and summary:
            writer.add_hparams(
                hparams, {f"hparam/{k}": v for k, v in summary.items()}, run_name="."
            )
        writer.close()

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
