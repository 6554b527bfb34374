"""The retrain stage: retrain the best parameters R times x 4 folds, evaluate on the test classes.

For each repeat r and fold k the model is trained with seed ``seed_offset + 100 r + k`` (early
stopped on the fold's own validation classes), and its best checkpoint embeds the test classes
(see :mod:`benchmark.stages.repeats`). The run's tracker logs each fold training as a run
``retrain/<loss>/repeat_<r>/fold_<k>`` nested under the loss's retrain run ``retrain/<loss>``.
"""

from __future__ import annotations

import optuna

from benchmark.errors import StudyFailed
from benchmark.losses import get_loss_spec
from benchmark.search.context import StudyContext
from benchmark.search.fixed_params import fixed_params
from benchmark.search.study_factory import best_params, load_study
from benchmark.stages.repeats import FoldOutcome, repeats_to_run, retrain_seed, run_repeats
from benchmark.store.study_state import budget_state
from benchmark.tracking.run_log import tracked_run
from benchmark.tracking.tracker import TrackedRun


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
    if fixed is None:
        study = load_study(context, loss)
        _require_finished(context, study, loss)
        params, params_source = best_params(study), "search"
    else:
        params, params_source = fixed
    cv = context.cross_validation
    tracked = retrain_run(context, loss, params, params_source)

    def trained_fold(repeat: int, fold: int) -> FoldOutcome:
        seed = retrain_seed(context, repeat, fold)
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

    details = {"params": params, "params_source": params_source}
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
