"""The retrain stage: retrain the best parameters R times x 4 folds, evaluate on the test classes.

For each repeat r and fold k the model is trained with seed ``seed_offset + 100 r + k`` (early
stopped on the fold's own validation classes), and its best checkpoint embeds the test classes
(see :mod:`benchmark.stages.repeats`). The run's tracker logs each fold training as a run
``retrain/<loss>/repeat_<r>/fold_<k>`` nested under the loss's retrain run ``retrain/<loss>``.
"""

from __future__ import annotations

import json
import logging
import shutil
from typing import Any

import optuna

from benchmark.errors import StudyFailed
from benchmark.io import atomic_write_text
from benchmark.losses import get_loss_spec
from benchmark.search.context import StudyContext
from benchmark.search.fixed_params import fixed_params
from benchmark.search.seeds import retrain_seed
from benchmark.search.study_factory import best_params, load_study
from benchmark.stages.repeats import FoldOutcome, repeats_to_run, run_repeats
from benchmark.store.results_file import SEARCHED, ResultsFile
from benchmark.store.study_state import budget_state
from benchmark.tracking.run_log import tracked_run
from benchmark.tracking.tracker import TrackedRun

_logger = logging.getLogger(__name__)


def run_retrain(context: StudyContext, loss: str, repeats: list[int] | None = None) -> None:
    """Retrain ``loss`` over the repeats (or only ``repeats``) not yet in the results.

    The parameters are the protocol's fixed hyperparameters when it searches nothing
    (:func:`~benchmark.search.fixed_params.fixed_params`: a published configuration or the
    protocol's defaults), else those of the best trial of the loss's study (``search``), once
    that study has met its budget.
    """
    todo = repeats_to_run(context, loss, repeats)
    if not todo:
        return
    fixed = fixed_params(context.config, loss)
    details: dict[str, Any]
    if fixed is None:
        study = load_study(context, loss)
        _require_finished(context, study, loss)
        params, n_trials = best_params(study), context.config.study.n_trials
        details = {"params": params, "params_source": SEARCHED, "n_trials": n_trials}
        todo = _rerun_under_raised_budget(context, loss, params, todo)
        if not todo:
            return
    else:
        params, params_source = fixed
        details = {"params": params, "params_source": params_source}
    for repeat in todo:
        _own_fits(context, loss, repeat, params)
    cv = context.cross_validation
    tracked = retrain_run(context, loss, params, details["params_source"])

    def trained_fold(repeat: int, fold: int) -> FoldOutcome:
        seed = retrain_seed(context.config.retrain.seed_offset, repeat, fold)
        fold_dir = context.run_dir.retrain_fold_dir(loss, repeat, fold)
        fold_run = retrain_fold_run(context, tracked, repeat, fold, seed)
        with tracked_run(context.tracker, fold_run) as log:
            trained = cv.train_fold(
                loss, params, cv.folds[fold], seed, fold_dir, True, on_evaluation=log
            )
            log.fit_finished(trained.result)
        embeddings = cv.test_embeddings(trained.model, fold_dir)
        return FoldOutcome(
            seed, embeddings, trained.result.best_iteration, trained.result.best_epoch
        )

    with tracked_run(context.tracker, tracked):
        run_repeats(context, loss, get_loss_spec(loss).display, todo, trained_fold, details)


def retrain_run(context: StudyContext, loss: str, params: dict, params_source: str) -> TrackedRun:
    """The tracked run of ``loss``'s retrain, keyed by its folder in the run directory: every
    retrained fold is nested under it."""
    return TrackedRun(
        key=context.run_dir.retrain_dir(loss).relative_to(context.run_dir.path).as_posix(),
        name=f"{loss} retrain",
        params={**params, "params_source": params_source},
        tags={"stage": "retrain", "loss": loss},
    )


def retrain_fold_run(
    context: StudyContext, parent: TrackedRun, repeat: int, fold: int, seed: int
) -> TrackedRun:
    """The tracked run of fold ``fold`` of repeat ``repeat``, nested under the retrain run and
    keyed by its fit directory."""
    loss = parent.tags["loss"]
    fit_dir = context.run_dir.retrain_fold_dir(loss, repeat, fold)
    return parent.child(
        fit_dir.relative_to(context.run_dir.retrain_dir(loss)).as_posix(),
        f"{parent.name} repeat {repeat} fold {fold}",
        params={**parent.params, "repeat": repeat, "fold": fold, "seed": seed},
        tags={**parent.tags, "stage": "retrain-fold", "repeat": str(repeat), "fold": str(fold)},
    )


def _rerun_under_raised_budget(
    context: StudyContext, loss: str, params: dict[str, Any], todo: list[int]
) -> list[int]:
    """The repeats of ``todo`` to train. A repeat in the results under another budget (the
    run's was raised since, or an older file recorded none) keeps its rows if it was trained
    with ``params``, the study's choice under the run's budget too: only its budget is
    recorded. Otherwise its fits (trained with other parameters) and then its rows are removed,
    and it is trained again."""
    results = ResultsFile(context.run_dir)
    rows = results.read()
    rows = rows[(rows["loss"] == loss) & (rows["ablation"] == "") & rows["repeat"].isin(todo)]
    wanted = json.dumps(params, sort_keys=True)
    same = {
        int(r) for r, text in zip(rows["repeat"], rows["params"], strict=True) if text == wanted
    }
    other = set(rows["repeat"].astype(int)) - same
    if same:
        results.record_budget(loss, same, context.config.study.n_trials)
    if other:
        _logger.warning(
            "%s: repeats %s were trained with other parameters than the study's choice under "
            "study.n_trials = %d (a lower budget's); they are trained again",
            loss,
            ",".join(map(str, sorted(other))),
            context.config.study.n_trials,
        )
        for repeat in other:  # the fits first: rows without fits are never read as done
            shutil.rmtree(context.run_dir.retrain_repeat_dir(loss, repeat), ignore_errors=True)
        results.drop_repeats(loss, other)
    return [repeat for repeat in todo if repeat not in same]


def _own_fits(context: StudyContext, loss: str, repeat: int, params: dict[str, Any]) -> None:
    """Make the fits of ``repeat`` those of ``params``: fits trained with other parameters (a
    repeat cut short before the run's budget was raised) are removed, never resumed."""
    path = context.run_dir.retrain_params_path(loss, repeat)
    wanted = json.dumps(params, sort_keys=True)
    try:
        recorded = path.read_text()
    except FileNotFoundError:
        recorded = None
    if recorded == wanted:
        return
    if recorded is not None:
        _logger.warning("%s repeat %d: fits of other parameters removed", loss, repeat)
        shutil.rmtree(path.parent)
    atomic_write_text(path, wanted)


def _require_finished(context: StudyContext, study: optuna.Study, loss: str) -> None:
    """A retrain starts from a complete study only (its best trial is final then)."""
    state = budget_state(study.get_trials(deepcopy=False))
    n_trials = context.config.study.n_trials
    if state.finished < n_trials:
        raise StudyFailed(
            f"study {study.study_name} has finished {state.finished} of its {n_trials} trials "
            f"({state.in_flight} in flight), so its best parameters are not final yet; its "
            "workers ended early (their logs say why): run `mlrc slurm submit` again, or "
            f"`mlrc worker --run-dir {context.run_dir.path} --loss {loss}`, then retrain"
        )
