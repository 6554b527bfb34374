"""What a trial of a pruned study costs, in fold trainings (``mlrc status``, the projection).

A run that has finished trials measures it itself: the mean epochs its finished trials trained
(a pruned one up to where it was stopped) in units of a finished fold's epochs. A run that has
none yet is priced at :data:`MEASURED_PRUNING`, the saving ``mlrc profile pruners`` measured,
when it uses that pruner with those settings (another pruner saves what it saves: unknown, so
nothing is assumed).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from benchmark.config.sections import StudyConfig
from benchmark.store import trial_attrs


@dataclass(frozen=True)
class MeasuredPruning:
    """A pruner's saving as ``mlrc profile pruners`` measured it."""

    settings: dict[str, Any]
    """The ``study.`` values of the pruner measured (``pruner`` and its ``pruner_*`` ones)."""
    epochs_saved: float
    """The fraction of the unpruned studies' training epochs it saved (summed over them)."""
    source: str
    """Where it was measured, in words (printed with every number priced from it)."""

    def applies_to(self, study: StudyConfig) -> bool:
        """Whether ``study`` uses this pruner with these settings."""
        return all(getattr(study, key) == value for key, value in self.settings.items())


MEASURED_PRUNING = MeasuredPruning(
    settings={"pruner": "curve_halving", "pruner_reduction_factor": 2, "pruner_startup_trials": 2},
    epochs_saved=0.537,
    source=(
        "curve_halving:reduction_factor=2:startup_trials=2 saved 978 of 2,114 epochs (54%) on 6 "
        "demo studies of 15 trials, the retrained answer within the unpruned 95% interval in "
        "6/6 (mlrc profile pruners, docs/guide/search.md)"
    ),
)
"""The pruner that saved the most epochs with the answer within the unpruned interval in every
study measured (the table: docs/guide/search.md, "Pruning inside the fold")."""


@dataclass(frozen=True)
class TrialPrice:
    """What a trial left costs, and where that comes from."""

    folds: float
    """Fold trainings (a fraction when a pruner stops trials inside their folds)."""
    pruned_epoch_fraction: float | None = None
    """The mean fraction of a full trial's epochs the run's pruned trials trained (None: no
    pruned trial, or no recorded epochs)."""
    source: str = ""
    """Where :attr:`folds` comes from when not from this run's finished trials ("": from
    them, or no pruner)."""


def trial_price(study: StudyConfig, folds: int, finished: list[FrozenTrial]) -> TrialPrice:
    """The fold trainings a trial left costs: ``folds`` without a pruner; with one, from the
    finished trials, else from :data:`MEASURED_PRUNING` where it applies."""
    if study.pruner == "none":
        return TrialPrice(float(folds))
    if finished:
        return _from_finished(finished, folds)
    if MEASURED_PRUNING.applies_to(study):
        saved = MEASURED_PRUNING.epochs_saved
        return TrialPrice(folds * (1.0 - saved), source=MEASURED_PRUNING.source)
    return TrialPrice(float(folds))


def _from_finished(finished: list[FrozenTrial], folds: int) -> TrialPrice:
    """The finished trials' mean epochs over the mean epochs of a finished fold, and the mean
    fraction of a full trial's epochs that the pruned ones trained. Without recorded epochs: the
    mean number of folds they finished, and no fraction."""
    recorded = [trial_attrs.epochs_trained(t.user_attrs) for t in finished]
    recorded_folds = [
        record.get(trial_attrs.FOLD_EPOCHS)
        for t in finished
        for record in trial_attrs.fold_records(t.user_attrs).values()
    ]
    epochs = [e for e in recorded if e is not None]
    fold_epochs = [int(e) for e in recorded_folds if e is not None]
    if len(epochs) < len(recorded) or len(fold_epochs) < len(recorded_folds) or not fold_epochs:
        return TrialPrice(
            statistics.fmean(len(trial_attrs.fold_records(t.user_attrs)) for t in finished)
        )
    fold = statistics.fmean(fold_epochs)
    pruned = [e for e, t in zip(epochs, finished, strict=True) if t.state == TrialState.PRUNED]
    fraction = statistics.fmean(e / (folds * fold) for e in pruned) if pruned else None
    return TrialPrice(statistics.fmean(epochs) / fold, fraction)


def pricing_notes(summary: dict[str, Any]) -> list[str]:
    """What ``mlrc status`` says of the trials left of each pruned study (``summary``: its
    JSON), priced from its finished trials or from the measurement."""
    notes = []
    for loss in summary["losses"]:
        name, stages = loss["loss"], loss["stages"]
        notes += [
            f"{name} study: its pruned trials trained {100 * fraction:.0f}% of a full trial's "
            "epochs on average; the trials left are priced at the finished trials' epochs"
            for stage in stages
            if (fraction := stage["pruned_epoch_fraction"]) is not None
        ]
        notes += [
            f"{name} study: no trial finished yet; pruning priced at {source}"
            for stage in stages
            if (source := stage["pruning_priced_from"])
        ]
    return notes
