"""``mlrc profile pruners``: what pruning saves, and whether the answer changes.

For each loss and sampler seed the same study runs to its budget without pruning, then once per
pruner. Each pruned study is compared with the unpruned one:

- the device time of its search: the epochs its trials trained (finished folds and the fold a
  pruner stopped; load-independent) and the summed wall time of its trials (as measured, under
  whatever load the machine had), and the fold trainings it finished;
- the best configuration's validation MAP@R (the study's objective);
- the test MAP@R of the best configuration retrained over ``retrain.repeats`` seeds, against
  the 95% Student-t interval of the unpruned best configuration's (a pruned study that found the
  same configuration shares the unpruned retrain: same parameters, same seeds, same numbers).

A study meets the goal (:data:`GOAL_EPOCHS_SAVED`) when its pruner saved at least half of the
unpruned study's epochs and its retrained test MAP@R lies within the unpruned interval.

A pruner is written ``NAME[:SETTING=VALUE...]``, with ``NAME`` a ``study.pruner`` and each
``SETTING`` one of its ``study.pruner_<SETTING>`` values: ``median``,
``median:warmup_folds=0``, ``wilcoxon:p_threshold=0.3``, ``curve_median:startup_trials=3``,
``curve_halving:reduction_factor=2``.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from optuna.trial import TrialState

from benchmark.config import load_protocol
from benchmark.errors import ConfigError
from benchmark.io import atomic_write_csv, kept_or_temporary_dir
from benchmark.losses import get_loss_spec
from benchmark.progress import Progress
from benchmark.report.stats import confidence_interval
from benchmark.search.context import StudyContext
from benchmark.search.study_factory import best_params, load_study
from benchmark.search.worker import run_worker
from benchmark.stages.retrain import run_retrain
from benchmark.store import trial_attrs
from benchmark.store.results_file import MAP_AT_R, MODE_SEPARATED, ResultsFile
from benchmark.store.run_directory import RunDirectory

UNPRUNED = "none"
PRUNER_SETTINGS = (
    "warmup_folds",
    "warmup_evaluations",
    "startup_trials",
    "percentile",
    "p_threshold",
    "reduction_factor",
    "min_evaluations",
)
GOAL_EPOCHS_SAVED = 0.5
PRUNER_COLUMNS = (
    "loss",
    "seed",
    "pruner",
    "trials",
    "pruned",
    "fold_trainings",
    "fold_trainings_unpruned",
    "epochs",
    "epochs_unpruned",
    "epochs_saved",
    "search_wall_time_s",
    "search_wall_time_s_unpruned",
    "best_val_map_at_r",
    "best_val_map_at_r_unpruned",
    "same_best",
    "test_map_at_r",
    "test_map_at_r_unpruned",
    "unpruned_ci_low",
    "unpruned_ci_high",
    "within_unpruned_ci",
    "goal_met",
    "wall_time_s",
)

_logger = logging.getLogger(__name__)


def pruner_overrides(spec: str) -> list[str]:
    """``median:warmup_folds=0`` -> ``["study.pruner=median", "study.pruner_warmup_folds=0"]``."""
    name, *settings = spec.strip().split(":")
    overrides = [f"study.pruner={name}"]
    for setting in settings:
        key, _, value = setting.partition("=")
        if key not in PRUNER_SETTINGS or not value:
            raise ConfigError(
                f"pruner {spec!r}: expected NAME[:SETTING=VALUE...] with SETTING one of "
                f"{', '.join(PRUNER_SETTINGS)}, e.g. median:warmup_folds=0"
            )
        overrides.append(f"study.pruner_{key}={value}")
    return overrides


def compare_pruners(
    protocol: str,
    dataset: str | None,
    losses: Sequence[str],
    seeds: Sequence[int] = (0, 1),
    pruners: Sequence[str] = ("median", "wilcoxon"),
    overrides: Sequence[str] = (),
    work_dir: Path | None = None,
    csv_path: Path | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """One row per (loss, seed, pruner), the unpruned study first (its row is the reference).

    Runs live in ``work_dir`` (default: a temporary folder, removed); with ``csv_path`` the
    rows are written after every study, so an interrupted comparison keeps what it measured.
    """
    configs = {}  # every seed and pruner checked before any training
    for seed, spec in itertools.product(seeds, [UNPRUNED, *pruners]):
        try:
            configs[seed, spec] = load_protocol(protocol, dataset, _settings(overrides, seed, spec))
        except ConfigError as exc:
            raise ConfigError(f"pruner {spec!r}, seed {seed}: {exc}") from None
    for loss in losses:
        get_loss_spec(loss)
    rows: list[dict[str, Any]] = []
    total = len(losses) * len(seeds) * (1 + len(pruners))
    with (
        kept_or_temporary_dir(work_dir, "mlrc-pruners-") as scratch,
        Progress("profile pruners", total, logger=_logger, unit="study", bars=progress) as bar,
    ):
        for loss in losses:
            for seed in seeds:
                reference = None
                for spec in [UNPRUNED, *pruners]:
                    bar.set_postfix(f"{loss} seed {seed} {spec}")
                    config = configs[seed, spec]
                    run_dir = RunDirectory(scratch / f"{loss}-seed{seed}-{_slug(spec)}")
                    context = StudyContext.create(config, run_dir, progress=False)
                    outcome = _run_study(context, loss, reference)
                    reference = reference or outcome
                    rows.append(_row(loss, seed, spec, outcome, reference))
                    if csv_path is not None:
                        write_pruner_csv(rows, csv_path)
                    bar.update()
    return rows


def _settings(overrides: Sequence[str], seed: int, spec: str) -> list[str]:
    """The --set items of one study: the user's, the sampler seed, then the pruner's."""
    return [*overrides, f"study.sampler.seed={seed}", *pruner_overrides(spec)]


class _Outcome:
    """One study, run and retrained: what the comparison reads from it."""

    def __init__(self, study, params, test_values, confidence, wall_time_s):
        trials = study.get_trials(deepcopy=False)
        self.trials = len(trials)
        self.pruned = sum(t.state == TrialState.PRUNED for t in trials)
        self.fold_trainings = sum(len(trial_attrs.fold_records(t.user_attrs)) for t in trials)
        self.epochs = sum(trial_attrs.epochs_trained(t.user_attrs) or 0 for t in trials)
        self.search_wall_time_s = sum(
            t.user_attrs.get(trial_attrs.WALL_TIME_S, 0.0) for t in trials
        )
        self.best_value = study.best_value
        self.params = params
        self.test_values = test_values
        self.interval = confidence_interval(test_values, confidence)
        self.wall_time_s = wall_time_s


def _run_study(context: StudyContext, loss: str, reference: _Outcome | None) -> _Outcome:
    start = time.perf_counter()
    run_worker(context, loss)
    study = load_study(context, loss)
    params = best_params(study)
    if reference is not None and params == reference.params:
        test_values = reference.test_values  # same configuration, same seeds: same retrain
    else:
        run_retrain(context, loss)
        test_values = _test_map_at_r(context.run_dir, loss)
    confidence = context.config.retrain.confidence
    return _Outcome(study, params, test_values, confidence, time.perf_counter() - start)


def _test_map_at_r(run_dir: RunDirectory, loss: str) -> list[float]:
    """Test MAP@R of each repeat (separated: the mean over the fold models)."""
    rows = ResultsFile(run_dir).read()
    mask = (rows["loss"] == loss) & (rows["mode"] == MODE_SEPARATED) & (rows["metric"] == MAP_AT_R)
    return rows[mask].sort_values("repeat")["value"].astype(float).tolist()


def _row(loss: str, seed: int, spec: str, outcome: _Outcome, reference: _Outcome) -> dict[str, Any]:
    interval = reference.interval
    test = outcome.interval.mean
    saved = 1.0 - outcome.epochs / reference.epochs if reference.epochs else math.nan
    within = bool(interval.low <= test <= interval.high)
    return {
        "loss": loss,
        "seed": seed,
        "pruner": spec,
        "trials": outcome.trials,
        "pruned": outcome.pruned,
        "fold_trainings": outcome.fold_trainings,
        "fold_trainings_unpruned": reference.fold_trainings,
        "epochs": outcome.epochs,
        "epochs_unpruned": reference.epochs,
        "epochs_saved": saved,
        "search_wall_time_s": outcome.search_wall_time_s,
        "search_wall_time_s_unpruned": reference.search_wall_time_s,
        "best_val_map_at_r": outcome.best_value,
        "best_val_map_at_r_unpruned": reference.best_value,
        "same_best": outcome.params == reference.params,
        "test_map_at_r": test,
        "test_map_at_r_unpruned": interval.mean,
        "unpruned_ci_low": interval.low,
        "unpruned_ci_high": interval.high,
        "within_unpruned_ci": within,
        "goal_met": within and saved >= GOAL_EPOCHS_SAVED,
        "wall_time_s": outcome.wall_time_s,
    }


def write_pruner_csv(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """The rows as CSV, written atomically."""
    path = Path(path)
    atomic_write_csv(path, rows, PRUNER_COLUMNS, lineterminator="\n")
    return path


def _slug(spec: str) -> str:
    return spec.replace(":", "-").replace("=", "")
