"""Creating and loading the Optuna study of one loss: its name, sampler and pruner."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import optuna

from benchmark.config import ProtocolConfig, SamplerConfig
from benchmark.errors import RunDirectoryError, StorageError, StudyFailed, UnknownLossError
from benchmark.losses.search_space import SearchSpace
from benchmark.search.curve_pruners import CURVE_PRUNERS, build_curve_pruner
from benchmark.search.fold_pruners import build_fold_pruner
from benchmark.search.learning_curves import CurveSteps
from benchmark.search.sobol_startup import SobolStartupSampler
from benchmark.store import trial_attrs
from benchmark.store.storage import without_password
from benchmark.store.study_state import study_name, usable

if TYPE_CHECKING:
    from benchmark.search.context import StudyContext


def build_sampler(
    settings: SamplerConfig, space: SearchSpace, n_existing_trials: int = 0
) -> optuna.samplers.BaseSampler:
    """The protocol's sampler (TPE or Sobol + GP) with every setting explicit.

    It is seeded from the protocol seed and the number of trials already in the study, i.e.
    the number of the trial about to be asked (taken under the budget lock). Each trial gets its
    own seed whichever worker asks for it: parallel workers explore differently, a restarted
    worker does not repeat earlier draws, and the start-up trials are the same on one worker, on
    many, or on a Slurm array.
    """
    seed = settings.seed + n_existing_trials
    if settings.kind == "gp":
        gp = optuna.samplers.GPSampler(
            seed=seed,
            n_startup_trials=settings.n_startup_trials,
            deterministic_objective=settings.deterministic_objective,
            independent_sampler=optuna.samplers.RandomSampler(seed=seed),
        )
        return SobolStartupSampler(
            space.distributions(), settings.n_startup_trials, settings.seed, then=gp
        )
    return optuna.samplers.TPESampler(
        seed=seed,
        n_startup_trials=settings.n_startup_trials,
        n_ei_candidates=settings.n_ei_candidates,
        multivariate=settings.multivariate,
        group=settings.group,
        constant_liar=settings.constant_liar,
    )


def build_pruner(config: ProtocolConfig) -> optuna.pruners.BasePruner:
    """The protocol's pruner (:mod:`benchmark.search.fold_pruners`,
    :mod:`benchmark.search.curve_pruners`; ``none``: never prune)."""
    if config.study.pruner in CURVE_PRUNERS:
        return build_curve_pruner(config.study, CurveSteps.for_training(config.training))
    return build_fold_pruner(config.study)


def create_study(context: StudyContext, loss: str, space: SearchSpace) -> optuna.Study:
    """The study of ``loss`` with the protocol's sampler and pruner (created if missing); its
    objective is named (:data:`trial_attrs.OBJECTIVE_NAME`) for optuna-dashboard. A study
    the storage lost (its trials' folds are in the run directory) is refused, not recreated."""
    check_study_not_lost(context, loss)
    study = optuna.create_study(
        study_name=study_name(context.config, loss),
        storage=context.storage,
        sampler=build_sampler(context.config.study.sampler, space),
        pruner=build_pruner(context.config),
        direction="maximize",
        load_if_exists=True,
    )
    if study.metric_names != [trial_attrs.OBJECTIVE_NAME]:
        with warnings.catch_warnings():  # experimental since Optuna 3.2, still in 5
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([trial_attrs.OBJECTIVE_NAME])
    return study


def study_exists(context: StudyContext, loss: str) -> bool:
    """Whether the run's storage holds the study of ``loss``."""
    try:
        context.storage.get_study_id_from_name(study_name(context.config, loss))
    except KeyError:
        return False
    return True


def check_study_not_lost(context: StudyContext, loss: str) -> None:
    """Raise when the run directory holds fold trainings of ``loss``'s trials but the storage
    has no study of ``loss``: an emptied journal, or a storage that is not the run's."""
    if study_exists(context, loss):
        return
    trials_dir = context.run_dir.trials_dir(loss)
    trials = {fold.parent.name for fold in trials_dir.glob("*/fold_*") if fold.is_dir()}
    if trials:
        raise RunDirectoryError(
            f"storage {context.storage_description} holds no study "
            f"{study_name(context.config, loss)}, but {trials_dir} holds the folds of "
            f"{len(trials)} of its trials: the storage lost the study (an emptied journal?) or "
            "is not this run's; restore it, give the run's storage (run.json), or delete "
            f"{trials_dir} to search again"
        )


def require_joinable(context: StudyContext, loss: str, storage_url: str | None) -> None:
    """A worker started cold (given ``storage_url``, or None for the run's) joins a study of
    its run: the storage must hold it, or be the run's own and the run started for ``loss``,
    its first worker then creating the study. Else a typo in --loss or --storage would start a
    new study."""
    if study_exists(context, loss):
        return
    name = study_name(context.config, loss)
    recorded = context.run_dir.read_manifest().get("storage")
    if storage_url is not None and without_password(storage_url) != without_password(recorded):
        raise StorageError(
            f"--storage {context.storage_description} holds no study {name}: a worker joins "
            "the run's study; give the storage the run uses (run.json), or omit --storage"
        )
    losses = context.run_dir.recorded_losses()
    if losses is not None and loss not in losses:
        raise UnknownLossError(
            f"run {context.run_dir.path} was started for {', '.join(losses) or 'no loss'}, "
            f"not '{loss}': check --loss, or add it with `mlrc study --run-dir "
            f"{context.run_dir.path} --loss {loss}` and the run's --protocol/--dataset/--set"
        )


def load_study(context: StudyContext, loss: str) -> optuna.Study:
    """The existing study of ``loss``, for reading (no sampler or pruner needed)."""
    name = study_name(context.config, loss)
    try:
        return optuna.load_study(study_name=name, storage=context.storage)
    except KeyError:
        raise StudyFailed(
            f"no study {name} in this run's storage; run `mlrc worker --run-dir "
            f"{context.run_dir.path} --loss {loss}` (or `mlrc run`) first"
        ) from None


def best_params(study: optuna.Study) -> dict[str, Any]:
    """The full parameters (searched + fixed) of the best completed trial that did not diverge
    (a diverged trial may be COMPLETE with ``study.diverged_value``, to inform the sampler)."""
    completed = [trial for trial in study.get_trials(deepcopy=False) if usable(trial)]
    if not completed:
        reasons = sorted(
            {t.user_attrs.get(trial_attrs.FAIL_REASON, "") for t in study.trials} - {""}
        )
        raise StudyFailed(
            f"study {study.study_name}: none of its {len(study.trials)} trials completed "
            "without diverging; "
            + (f"first failure: {reasons[0]}" if reasons else "run `mlrc worker` to finish it")
        )
    best = max(completed, key=lambda t: (t.value, -t.number))
    return dict(best.user_attrs.get(trial_attrs.PARAMS, best.params))
