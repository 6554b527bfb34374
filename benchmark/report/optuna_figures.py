"""Optuna figures of a run's studies: optimisation history and hyperparameter importances.

One figure of each kind per run directory, one panel per study (loss). The studies are read
from the run's storage (``run.json``'s URL, else ``<run_dir>/optuna.journal``); optuna-dashboard
opens the same storage interactively (``optuna-dashboard <storage URL>``).

fANOVA fits a random forest to the complete trials: from a handful of them its importances are
noise. A study with fewer than :data:`MIN_IMPORTANCE_TRIALS` complete trials is drawn lighter,
its panel titled with that caveat and the figure says why; a study whose importances cannot be
computed (fewer than 2 complete trials, or every trial with the same value) keeps its panel,
which says so instead of vanishing.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import optuna
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from optuna.trial import TrialState

from benchmark.errors import StorageError
from benchmark.report._plotting import new_figure, save_png, shared_legend
from benchmark.report.figure_outcome import FigureOutcome
from benchmark.report.labels import ordered_losses, setting_symbol
from benchmark.store import trial_attrs
from benchmark.store.run_directory import RunDirectory
from benchmark.store.storage import open_storage

IMPORTANCE_SEED = 0  # fANOVA fits a random forest: seeded, the figure is reproducible
MIN_IMPORTANCE_TRIALS = 10
"""Below this many complete trials, a study's importances are drawn as indicative only."""
FEW_TRIALS_ALPHA = 0.45


def load_studies(
    run_dir: Path, storage_url: str | None, name_prefix: str = ""
) -> list[optuna.Study] | str:
    """The studies of a run whose names start with ``name_prefix`` (a database may hold other
    runs' studies too), or why there are none. Never creates a storage."""
    journal = RunDirectory(run_dir).journal_path
    if storage_url is None and not journal.is_file():
        return f"no Optuna journal in {run_dir} (and run.json names no other storage)"

    try:
        storage = open_storage(storage_url, journal)
        names = [n for n in optuna.study.get_all_study_names(storage) if n.startswith(name_prefix)]
    except StorageError as exc:
        return str(exc)
    if not names:
        return f"the storage of {run_dir} holds no study named {name_prefix}*"
    return [optuna.load_study(study_name=name, storage=storage) for name in sorted(names)]


def optuna_figures(
    run_dir: Path,
    storage_url: str | None,
    history_png: Path,
    importance_png: Path,
    name_prefix: str = "",
    titles: dict[str, str] | None = None,
) -> list[FigureOutcome]:
    """The optimisation history and the importances of the run's studies (``<protocol>.
    <dataset>.<loss>``; ``name_prefix`` = ``<protocol>.<dataset>.`` selects them). ``titles``
    names a study's panel by its loss (``{"proxy_anchor": "CUB · ProxyAnch."}``); panels come
    in the paper's loss order."""
    studies = load_studies(run_dir, storage_url, name_prefix)
    if isinstance(studies, str):
        return [FigureOutcome.skip(f"Optuna figures of {run_dir}: {studies}")]
    by_loss = {study.study_name.removeprefix(name_prefix): study for study in studies}
    titles = titles or {}
    panels = [
        (titles.get(loss, by_loss[loss].study_name), by_loss[loss])
        for loss in ordered_losses(by_loss)
    ]
    histories = [(title, study.get_trials(deepcopy=False)) for title, study in panels]
    return [history_figure(histories, history_png), _importance_figure(panels, importance_png)]


def history_figure(
    panels: list[tuple[str, list[optuna.trial.FrozenTrial]]], path: Path
) -> FigureOutcome:
    """The optimisation history of each study, one panel per ``(title, trials)``: every fold's
    validation MAP@R, each completed trial's mean over its folds, and the best so far."""
    figure, axes = _panels(len(panels))
    for (title, trials), ax in zip(panels, axes, strict=False):
        complete = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
        folds = [(t.number, 100 * score) for t in trials for score in _fold_scores(t)]
        if folds:
            fold_numbers, fold_scores = zip(*folds, strict=True)
            ax.scatter(fold_numbers, fold_scores, s=8, color="0.6", label="one fold")
        if complete:
            numbers = [t.number for t in complete]
            values = [100 * t.value for t in complete if t.value is not None]  # all of them
            ax.scatter(numbers, values, s=20, color="C0", label="trial (mean over its folds)")
            ax.step(numbers, _running_max(values), where="post", color="C3", label="best so far")
        states = Counter(t.state.name.lower() for t in trials)
        counts = ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
        ax.set_title(f"{title} ({counts or 'no trial'})", fontsize="medium")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("trial")
        ax.set_ylabel("validation MAP@R (%)")
        ax.grid(alpha=0.3)
    rows = shared_legend(figure, axes[: len(panels)])
    _hide_unused(axes, len(panels))
    return FigureOutcome(save_png(figure, path, rows))


def _importance_figure(panels: list[tuple[str, optuna.Study]], path: Path) -> FigureOutcome:
    drawn = [(title, study, _importances(study)) for title, study in panels]
    if all(isinstance(value, str) for _, _, value in drawn):
        reasons = "; ".join(f"{study.study_name}: {value}" for _, study, value in drawn)
        return FigureOutcome.skip(f"hyperparameter importances ({reasons})")
    figure, axes = _panels(len(drawn))
    few = False
    for (title, study, values), ax in zip(drawn, axes, strict=False):
        complete = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
        indicative = complete < MIN_IMPORTANCE_TRIALS and not isinstance(values, str)
        caveat = f", fewer than {MIN_IMPORTANCE_TRIALS}: indicative" if indicative else ""
        ax.set_title(f"{title} ({complete} trials{caveat})", fontsize="medium")
        if isinstance(values, str):
            _say_in_panel(ax, f"no importances:\n{values}")
            continue
        few |= indicative
        params = list(values)[::-1]  # most important on top
        alpha = FEW_TRIALS_ALPHA if indicative else 1.0
        ax.barh(
            [setting_symbol(p) for p in params],
            [values[p] for p in params],
            color="C0",
            alpha=alpha,
        )
        ax.set_xlim(0, 1)
        ax.set_xlabel("importance (fANOVA)")
        ax.grid(alpha=0.3, axis="x")
    _hide_unused(axes, len(drawn))
    if few:
        figure.text(0.5, 0.005, _FEW_TRIALS_NOTE, ha="center", va="bottom", fontsize="small")
    return FigureOutcome(save_png(figure, path, legend_rows=1 if few else 0))


_FEW_TRIALS_NOTE = (
    f"Lighter bars: fewer than {MIN_IMPORTANCE_TRIALS} complete trials; a random forest fit "
    "to so few is indicative only."
)


def _say_in_panel(ax: Axes, text: str) -> None:
    """A panel without bars says why instead (a study is never left out silently)."""
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _importances(study: optuna.Study) -> dict[str, float] | str:
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < 2:
        return f"{len(complete)} complete trial(s), importances need 2"
    values = {trial.value for trial in complete if trial.value is not None}  # all of them
    if len(values) == 1:
        return f"all {len(complete)} trials tie at {100 * values.pop():.2f}% (nothing to explain)"
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=IMPORTANCE_SEED)
    try:
        return optuna.importance.get_param_importances(study, evaluator=evaluator)
    except (RuntimeError, ValueError) as exc:  # e.g. every trial drew the same value
        return str(exc) or type(exc).__name__


def _fold_scores(trial: optuna.trial.FrozenTrial) -> list[float]:
    """The best validation MAP@R of each finished fold of a trial (its ``fold_<k>`` user
    attributes; the intermediate values are the evaluations inside the folds, for pruners)."""
    records = trial_attrs.fold_records(trial.user_attrs).values()
    return [
        record[trial_attrs.FOLD_VAL_MAP_AT_R]
        for record in records
        if trial_attrs.FOLD_VAL_MAP_AT_R in record
    ]


def _panels(count: int) -> tuple[Figure, list[Axes]]:
    ncols = min(3, count)
    nrows = math.ceil(count / ncols)
    figure, axes = new_figure(4.2 * ncols, 3.4 * nrows, ncols=ncols, nrows=nrows)
    return figure, list(np.atleast_1d(axes).flat)  # one panel comes back as a bare Axes


def _hide_unused(axes: list, used: int) -> None:
    for ax in axes[used:]:
        ax.set_visible(False)


def _running_max(values: list[float]) -> list[float]:
    best, result = -math.inf, []
    for value in values:
        best = max(best, value)
        result.append(best)
    return result
