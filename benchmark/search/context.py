"""The study context: what every stage of one run shares, built once per process.

``StudyContext.create`` starts (or resumes) a run from a protocol: it checks the dataset and the
storage, then writes the run directory's manifest. ``StudyContext.attach`` is for a process that
starts cold from a run directory (``mlrc worker``, ``mlrc retrain`` on a cluster node): it loads
the recorded plugins, protocol, storage URL and tracker. Either way the storage is opened once,
the dataset indexed once and the tracker opened once, however many stages the process runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from optuna.storages import BaseStorage

from benchmark.config import ProtocolConfig
from benchmark.crossval.cross_validation import CrossValidation
from benchmark.data.fold_feasibility import require_feasible
from benchmark.errors import StorageError
from benchmark.losses import get_loss_spec
from benchmark.models.weights import resolve_weights
from benchmark.search.loss_settings import check_loss_settings
from benchmark.search.study_factory import check_study_not_lost
from benchmark.store.run_directory import RunDirectory
from benchmark.store.storage import journal_file, open_storage, without_password
from benchmark.tracking.guarded_tracker import GuardedTracker, NullTracker, open_tracker
from benchmark.tracking.settings import TrackerRequest, TrackerSettings, resolve_tracker


@dataclass
class StudyContext:
    """One run's protocol, run directory, storage and data.

    Attributes:
        config: the resolved protocol (as recorded in the run's manifest).
        run_dir: the run directory.
        storage_url: the Optuna storage URL, or None for the run directory's journal file.
        progress: show progress bars.
        tracker_settings: the experiment tracker every fold training is logged to, or None.
    """

    config: ProtocolConfig
    run_dir: RunDirectory
    storage_url: str | None = None
    progress: bool = True
    tracker_settings: TrackerSettings | None = None

    @classmethod
    def create(
        cls,
        config: ProtocolConfig,
        run_dir: RunDirectory,
        storage_url: str | None = None,
        plugins: list[str] | tuple[str, ...] = (),
        progress: bool = True,
        tracker: TrackerRequest | None = None,
        raise_budget: bool = False,
        losses: Sequence[str] = (),
    ) -> StudyContext:
        """Start or resume a run of ``losses``: a wrong ``losses:`` section, a changed setting,
        an unusable tracker, a missing dataset, folds on which every trial of one of ``losses``
        would fail (:mod:`benchmark.data.fold_feasibility`), missing trunk weights or an
        unreachable storage fail before anything is written; then the manifest is written (or
        checked against this config: ``raise_budget`` lets its budgets rise, see
        :meth:`RunDirectory.initialise`) and records the losses (the studies a worker started
        cold may join) and the tracker (``tracker`` over the one recorded)."""
        check_loss_settings(config)  # the protocol's losses: section, before anything runs
        run_dir.check_settings(config, raise_budget)  # a refused change costs no indexing
        settings = resolve_tracker(run_dir.recorded_tracker(), tracker)
        context = cls(config, run_dir, storage_url, progress, settings)
        context.tracker  # noqa: B018  (an unknown tracker or a missing library fails first)
        index = context.cross_validation.index  # indexed now: a missing dataset fails first
        require_feasible(
            index, config, {loss: get_loss_spec(loss).images_per_class for loss in losses}
        )
        resolve_weights(config.model.trunk, config.model.weights)  # a missing file, now
        context.storage  # noqa: B018  (open it now: an unreachable database fails here)
        for loss in losses if config.study.searches else ():
            check_study_not_lost(context, loss)  # before the untrained baseline trains
        recorded = None if settings is None else settings.to_dict()
        run_dir.initialise(
            config, list(plugins), storage_url, raise_budget, losses=losses, tracker=recorded
        )
        return context

    @classmethod
    def attach(
        cls,
        run_dir: RunDirectory | Path,
        storage_url: str | None = None,
        progress: bool = True,
        tracker: TrackerRequest | None = None,
    ) -> StudyContext:
        """Join an existing run from a process started cold (loads the run's plugins too);
        ``storage_url`` and ``tracker`` override what the manifest records, for this process."""
        run_dir = run_dir if isinstance(run_dir, RunDirectory) else RunDirectory(Path(run_dir))
        config, url = run_dir.attach(storage_url)
        journal = journal_file(storage_url, run_dir.journal_path) if storage_url else None
        if journal is not None and not journal.expanduser().is_file():
            raise StorageError(
                f"--storage {storage_url}: no journal file there; a process joining a run uses "
                f"the run's storage ({_recorded_storage(run_dir)}): check the path, or omit "
                "--storage"
            )
        settings = resolve_tracker(run_dir.recorded_tracker(), tracker)
        context = cls(config, run_dir, url, progress, settings)
        context.tracker  # noqa: B018  (an unknown tracker or a missing library fails here)
        return context

    @property
    def storage_description(self) -> str:
        """The storage, as a message names it (without a password)."""
        return without_password(self.storage_url) or str(self.run_dir.journal_path)

    @cached_property
    def storage(self) -> BaseStorage:
        """The Optuna storage, opened once."""
        return open_storage(self.storage_url, self.run_dir.journal_path)

    @cached_property
    def tracker(self) -> GuardedTracker | NullTracker:
        """The experiment tracker (opened once; a :class:`NullTracker` without one)."""
        settings = self.tracker_settings
        folder = self.run_dir.tracking_dir(settings.name if settings else "none")
        return open_tracker(settings, folder, str(self.run_dir.path))

    @cached_property
    def cross_validation(self) -> CrossValidation:
        """The dataset, its class split and folds, and how one fold is trained (built once)."""
        return CrossValidation(self.config, progress=self.progress)


def _recorded_storage(run_dir: RunDirectory) -> str:
    """The storage ``run.json`` records, as a message names it."""
    return run_dir.read_manifest().get("storage") or f"the journal {run_dir.journal_path}"
