"""``--tracker wandb``: each run a Weights & Biases run, grouped under its parent.

Without ``--tracking-uri`` W&B runs offline: its files go under the run directory's
``tracking/wandb/`` (no account, no network at run time); ``wandb sync`` uploads them later.
``--tracking-uri`` is a W&B server (``https://api.wandb.ai``, or your own) to log to online,
with the API key from ``WANDB_API_KEY``. The project is ``WANDB_PROJECT``, else the run
directory's name. W&B runs do not nest: a fold's run has its trial's (or retrain's) key as its
group, and the parent's own run holds the parent's parameters and summary.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmark.tracking.registry import require_module
from benchmark.tracking.tracker import RunStatus, TrackedRun, TrackerTarget


def build_wandb_tracker(target: TrackerTarget) -> WandbTracker:
    """Weights & Biases: offline files in the run directory, or a W&B server."""
    require_module("wandb", "wandb", "'mlrc-benchmark[wandb]'")
    project = os.environ.get("WANDB_PROJECT") or Path(target.experiment).name
    return WandbTracker(target.folder, project, target.uri)


class WandbTracker:
    """W&B runs of ``project``, offline in ``folder`` unless ``base_url`` is given."""

    def __init__(self, folder: Path, project: str, base_url: str | None = None):
        self.folder = folder
        self.project = project
        self.base_url = base_url
        self._runs: dict[str, Any] = {}

    def start_run(self, run: TrackedRun) -> None:
        import wandb

        self.folder.mkdir(parents=True, exist_ok=True)
        options: dict[str, Any] = {"base_url": self.base_url} if self.base_url else {}
        settings = wandb.Settings(
            console="off", silent=True, x_disable_stats=True, save_code=False, **options
        )
        group = run.parent.key if run.parent is not None else run.key
        self._runs[run.key] = wandb.init(
            project=self.project,
            dir=str(self.folder),
            name=run.name,
            group=group,
            job_type=run.tags.get("stage"),
            config={**run.params, "mlrc_key": run.key, **run.tags},
            mode="online" if self.base_url else "offline",
            reinit="create_new",
            settings=settings,
        )

    def log_metrics(self, run: TrackedRun, metrics: Mapping[str, float], step: int) -> None:
        handle = self._runs.get(run.key)
        if handle is not None:
            handle.log(dict(metrics), step=step)

    def end_run(self, run: TrackedRun, status: RunStatus, summary: Mapping[str, float]) -> None:
        handle = self._runs.pop(run.key, None)
        if handle is None:
            return
        handle.summary.update({**summary, "status": status})
        handle.finish(exit_code=0 if status == "finished" else 1)

    def close(self) -> None:
        for handle in self._runs.values():
            handle.finish(exit_code=1)
        self._runs.clear()
