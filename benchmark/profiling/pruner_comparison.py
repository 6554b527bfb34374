"""``mlrc profile pruners``: what pruning saves, and whether the answer changes.

For each loss and sampler seed the same study runs to its budget without pruning, then once per
pruner. Each pruned study is compared with the unpruned one:

- fold trainings run (each trial's ``fold_<k>`` records), against the unpruned study's;
- the best configuration's validation MAP@R (the study's objective);
- the test MAP@R of the best configuration retrained over ``retrain.repeats`` seeds, against
  the 95% Student-t interval of the unpruned best configuration's (a pruned study that found the
  same configuration shares the unpruned retrain: same parameters, same seeds, same numbers).

A pruner is written ``NAME[:SETTING=VALUE...]``, with ``NAME`` a ``study.pruner`` and each
``SETTING`` one of its ``study.pruner_<SETTING>`` values: ``median``,
``median:warmup_folds=0``, ``wilcoxon:p_threshold=0.3``, ``percentile:percentile=25``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from optuna.trial import TrialState

from benchmark.config import load_protocol
from benchmark.errors import ConfigError
from benchmark.io import atomic_write_csv, kept_or_temporary_dir
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
PRUNER_SETTINGS = ("warmup_folds", "percentile", "p_threshold")
PRUNER_COLUMNS = (
    "loss",
    "seed",
    "pruner",
    "trials",
    "pruned",
    "fold_trainings",
    "fold_trainings_unpruned",
    "best_val_map_at_r",
    "best_val_map_at_r_unpruned",
    "same_best",
    "test_map_at_r",
    "test_map_at_r_unpruned",
    "unpruned_ci_low",
    "unpruned_ci_high",
    "within_unpruned_ci",
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
    for spec in pruners:
        pruner_overrides(spec)  # a malformed spec fails before any training
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
                    settings = [*overrides, f"study.sampler.seed={seed}", *pruner_overrides(spec)]
                    config = load_protocol(protocol, dataset, settings)
                    run_dir = RunDirectory(scratch / f"{loss}-seed{seed}-{_slug(spec)}")
                    context = StudyContext.create(config, run_dir, progress=False)
                    outcome = _run_study(context, loss, reference)
                    reference = reference or outcome
                    rows.append(_row(loss, seed, spec, outcome, reference))
                    if csv_path is not None:
                        write_pruner_csv(rows, csv_path)
                    bar.update()
    return rows


class _Outcome:
    """One study, run and retrained: what the comparison reads from it."""

    def __init__(self, study, params, test_values, confidence, wall_time_s):
        trials = study.get_trials(deepcopy=False)
        self.trials = len(trials)
        self.pruned = sum(t.state == TrialState.PRUNED for t in trials)
        self.fold_trainings = sum(len(trial_attrs.fold_records(t.user_attrs)) for t in trials)
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
    return {
        "loss": loss,
        "seed": seed,
        "pruner": spec,
        "trials": outcome.trials,
        "pruned": outcome.pruned,
        "fold_trainings": outcome.fold_trainings,
        "fold_trainings_unpruned": reference.fold_trainings,
        "best_val_map_at_r": outcome.best_value,
        "best_val_map_at_r_unpruned": reference.best_value,
        "same_best": outcome.params == reference.params,
        "test_map_at_r": test,
        "test_map_at_r_unpruned": interval.mean,
        "unpruned_ci_low": interval.low,
        "unpruned_ci_high": interval.high,
        "within_unpruned_ci": bool(interval.low <= test <= interval.high),
        "wall_time_s": outcome.wall_time_s,
    }


def summarize_pruners(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per pruner: fold trainings run against the unpruned studies, and how often its answer
    was the same configuration, or within the unpruned retrain's interval."""
    summary = []
    for spec in dict.fromkeys(row["pruner"] for row in rows):
        mine = [row for row in rows if row["pruner"] == spec]
        run = sum(row["fold_trainings"] for row in mine)
        unpruned = sum(row["fold_trainings_unpruned"] for row in mine)
        summary.append(
            {
                "pruner": spec,
                "studies": len(mine),
                "fold_trainings": run,
                "fold_trainings_unpruned": unpruned,
                "saved": 1.0 - run / unpruned if unpruned else math.nan,
                "same_best": sum(row["same_best"] for row in mine),
                "within_unpruned_ci": sum(row["within_unpruned_ci"] for row in mine),
                "best_val_difference": float(
                    np.mean(
                        [r["best_val_map_at_r"] - r["best_val_map_at_r_unpruned"] for r in mine]
                    )
                ),
                "test_difference": float(
                    np.mean([r["test_map_at_r"] - r["test_map_at_r_unpruned"] for r in mine])
                ),
            }
        )
    return summary


def format_pruner_table(rows: Sequence[dict[str, Any]]) -> str:
    """Every study, then one summary line per pruner."""
    header = (
        f"{'loss':<14} {'seed':>4} {'pruner':<26} {'pruned':>9} {'folds':>11} "
        f"{'best val':>8} {'test':>6} {'unpruned test [95% CI]':>24} {'same':>5} {'in CI':>5}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        ci = "{:.4f} [{:.4f}, {:.4f}]".format(
            r["test_map_at_r_unpruned"], r["unpruned_ci_low"], r["unpruned_ci_high"]
        )
        pruned = "{}/{}".format(r["pruned"], r["trials"])
        folds = "{}/{}".format(r["fold_trainings"], r["fold_trainings_unpruned"])
        same = "yes" if r["same_best"] else "no"
        within = "yes" if r["within_unpruned_ci"] else "no"
        lines.append(
            f"{r['loss']:<14} {r['seed']:>4} {r['pruner']:<26} {pruned:>9} {folds:>11} "
            f"{r['best_val_map_at_r']:>8.4f} {r['test_map_at_r']:>6.4f} {ci:>24} "
            f"{same:>5} {within:>5}"
        )
    lines += ["", "per pruner (over every loss and seed):"]
    for s in summarize_pruners(rows):
        lines.append(
            f"  {s['pruner']}: {s['fold_trainings']}/{s['fold_trainings_unpruned']} fold "
            f"trainings ({100 * s['saved']:.0f}% saved); same best configuration in "
            f"{s['same_best']}/{s['studies']} studies, retrained test MAP@R within the unpruned "
            f"95% interval in {s['within_unpruned_ci']}/{s['studies']}; mean difference: best "
            f"val {s['best_val_difference']:+.4f}, test {s['test_difference']:+.4f}"
        )
    return "\n".join(lines)


def write_pruner_csv(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """The rows as CSV, written atomically."""
    path = Path(path)
    atomic_write_csv(path, rows, PRUNER_COLUMNS, lineterminator="\n")
    return path


def _slug(spec: str) -> str:
    return spec.replace(":", "-").replace("=", "")
