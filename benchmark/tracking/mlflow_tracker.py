"""``--tracker mlflow``: each run an MLflow run, nested by MLflow's parent-run tag.

Without ``--tracking-uri`` the store is a SQLite file in the run directory
(``tracking/mlflow/mlflow.db``; MLflow 3 keeps its file store in maintenance mode), which needs
no server; the processes of a run take turns at it under a file lock. With
``--tracking-uri http://HOST:PORT`` the runs go to an ``mlflow server``; its HTTP calls give up
after a few seconds (``MLFLOW_HTTP_REQUEST_*``, unless set), so a server that is down costs one
short wait and one warning. The client alone is ``mlflow-skinny``; ``mlflow ui`` and
``mlflow server`` need the full ``mlflow``. All runs of a benchmark run go to one experiment
named after its run directory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from benchmark.io import file_lock
from benchmark.tracking.registry import require_module
from benchmark.tracking.tracker import RunStatus, TrackedRun, TrackerTarget

DATABASE_NAME = "mlflow.db"
_STATUSES = {"finished": "FINISHED", "pruned": "KILLED", "failed": "FAILED", "killed": "KILLED"}
_HTTP_DEFAULTS = {  # what MLflow waits for a server that does not answer (its defaults: minutes)
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}
KEY_TAG = "mlrc.key"
STATUS_TAG = "mlrc.status"


def default_tracking_uri(folder: Path) -> str:
    """The SQLite store inside the run directory's ``tracking/mlflow/`` folder."""
    return f"sqlite:///{(folder / DATABASE_NAME).absolute()}"


def build_mlflow_tracker(target: TrackerTarget) -> MlflowTracker:
    """MLflow: a local SQLite store in the run directory, or a tracking server."""
    require_module("mlflow", "mlflow", "'mlrc-benchmark[mlflow]' (or mlflow-skinny)")
    uri = target.uri or default_tracking_uri(target.folder)
    if uri.startswith(("http://", "https://")):
        for name, value in _HTTP_DEFAULTS.items():
            os.environ.setdefault(name, value)
    for name in ("mlflow", "alembic"):  # their INFO lines (tables created, ...) are not ours
        logging.getLogger(name).setLevel(logging.WARNING)
    return MlflowTracker(uri, target.experiment)


class MlflowTracker:
    """Runs of one MLflow experiment at ``uri``; connects on the first run."""

    def __init__(self, uri: str, experiment: str):
        self.uri = uri
        self.experiment = experiment
        self._client: Any = None
        self._experiment_id: str | None = None
        self._run_ids: dict[str, str] = {}
        self._lock = _sqlite_lock(uri)

    def start_run(self, run: TrackedRun) -> None:
        from mlflow.entities import Param
        from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

        tags = {KEY_TAG: run.key, **run.tags}
        if run.parent is not None and run.parent.key in self._run_ids:
            tags[MLFLOW_PARENT_RUN_ID] = self._run_ids[run.parent.key]
        with self._serialised():
            client = self._connected()
            created = client.create_run(self._experiment_id, run_name=run.name, tags=tags)
            run_id = created.info.run_id
            params = [Param(name, str(value)) for name, value in run.params.items()]
            if params:
                client.log_batch(run_id, params=params)
        self._run_ids[run.key] = run_id

    def log_metrics(self, run: TrackedRun, metrics: Mapping[str, float], step: int) -> None:
        run_id = self._run_ids.get(run.key)
        if run_id is not None and metrics:
            self._log(run_id, metrics, step)

    def end_run(self, run: TrackedRun, status: RunStatus, summary: Mapping[str, float]) -> None:
        run_id = self._run_ids.pop(run.key, None)
        if run_id is None:
            return
        if summary:
            self._log(run_id, summary, step=0)
        with self._serialised():
            self._client.set_tag(run_id, STATUS_TAG, status)
            self._client.set_terminated(run_id, _STATUSES[status])

    def close(self) -> None:
        self._run_ids.clear()

    def _log(self, run_id: str, metrics: Mapping[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(name, float(value), now, step) for name, value in metrics.items()]
        with self._serialised():
            self._client.log_batch(run_id, metrics=batch)

    def _connected(self) -> Any:
        """The client, with the experiment found or created (on the first call)."""
        if self._client is None:
            from mlflow import MlflowClient
            from mlflow.exceptions import MlflowException

            client = MlflowClient(tracking_uri=self.uri)
            experiment = client.get_experiment_by_name(self.experiment)
            if experiment is None:
                try:
                    self._experiment_id = client.create_experiment(self.experiment)
                except MlflowException:  # another process created it meanwhile
                    created = client.get_experiment_by_name(self.experiment)
                    if created is None:
                        raise
                    self._experiment_id = created.experiment_id
            else:
                self._experiment_id = experiment.experiment_id
            self._client = client
        return self._client

    @contextlib.contextmanager
    def _serialised(self) -> Iterator[None]:
        if self._lock is None:
            yield
        else:
            with file_lock(self._lock):
                yield


def _sqlite_lock(uri: str) -> Path | None:
    """``<database>.lock`` for a SQLite store (its writers take turns; taking it creates the
    database's folder), else None."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return None
    database = Path(uri[len(prefix) :])
    return database.with_name(database.name + ".lock")
