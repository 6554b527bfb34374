"""Where a sweep stands, read from its storage and ``results.csv`` (no Slurm involved).

Both ``mlrc slurm submit`` (to skip finished work) and ``mlrc slurm status`` read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from optuna.trial import TrialState

from benchmark.config import ProtocolConfig
from benchmark.store.results_file import ResultsFile
from benchmark.store.run_directory import RunDirectory
from benchmark.store.study_state import budget_state, study_name


@dataclass(frozen=True)
class StudyProgress:
    """The trials of one loss's study, by state, against its budget."""

    loss: str
    n_trials: int
    finished: int
    """Trials that count toward the budget (complete, pruned, diverged)."""
    complete: int = 0
    running: int = 0
    waiting: int = 0
    failed: int = 0
    pruned: int = 0
    best_value: float | None = None

    @property
    def remaining(self) -> int:
        return max(self.n_trials - self.finished, 0)

    @property
    def done(self) -> bool:
        return self.finished >= self.n_trials


@dataclass(frozen=True)
class RetrainProgress:
    """The repeats of one loss (or of the untrained baseline) already in ``results.csv``."""

    loss: str
    repeats: int
    remaining: list[int]
    """The repeats still to retrain (``ResultsFile.missing_repeats``)."""

    @property
    def done(self) -> list[int]:
        return [repeat for repeat in range(self.repeats) if repeat not in self.remaining]


def read_study_progress(
    config: ProtocolConfig, losses: list[str], trials: dict[str, list]
) -> list[StudyProgress]:
    """The progress of each loss's study, from :func:`~benchmark.store.storage.trials_by_study`; a study nobody started
    has finished nothing."""
    return [
        _study_progress(config, loss, trials.get(study_name(config, loss), [])) for loss in losses
    ]


def _study_progress(config: ProtocolConfig, loss: str, trials: list) -> StudyProgress:
    by_state = {state: [t for t in trials if t.state == state] for state in TrialState}
    complete = by_state[TrialState.COMPLETE]
    return StudyProgress(
        loss=loss,
        n_trials=config.study.n_trials,
        finished=budget_state(trials).finished,
        complete=len(complete),
        running=len(by_state[TrialState.RUNNING]),
        waiting=len(by_state[TrialState.WAITING]),
        failed=len(by_state[TrialState.FAIL]),
        pruned=len(by_state[TrialState.PRUNED]),
        best_value=max((t.value for t in complete), default=None),
    )


def read_retrain_progress(
    run_dir: RunDirectory, config: ProtocolConfig, losses: list[str]
) -> list[RetrainProgress]:
    """The repeats of each loss already in ``results.csv`` (whole, and under the run's
    budget: a repeat searched under a lower one is retrained after a raise)."""
    missing = ResultsFile(run_dir).missing_repeats(config, losses)
    return [
        RetrainProgress(loss=loss, repeats=config.retrain.repeats, remaining=missing[loss])
        for loss in losses
    ]


def started_studies(config: ProtocolConfig, trials: dict[str, list]) -> list[str]:
    """The losses whose study for this protocol and dataset is among :func:`~benchmark.store.storage.trials_by_study`."""
    prefix = study_name(config, "")
    return [name.removeprefix(prefix) for name in trials if name.startswith(prefix)]
