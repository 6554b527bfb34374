"""The trial loop of a study worker: attach to one study and run trials until the budget is met.

Any number of workers (processes on one machine, or Slurm array tasks on a shared filesystem)
can attach to the same study; each trial is a class-disjoint cross-validation whose objective is
the mean over folds of each fold's best validation MAP@R.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import TrialState
from tqdm.auto import tqdm

from benchmark.errors import ConfigError, TrainingDiverged
from benchmark.losses import get_loss_spec
from benchmark.losses.search_space import SearchSpace, load_search_space
from benchmark.study import trial_attrs
from benchmark.study.budget import Heartbeat, Next, TrialBudget
from benchmark.study.context import StudyContext
from benchmark.study.factory import build_sampler, create_study
from benchmark.study.run_dir import params_key


def fold_seed(context: StudyContext, fold: int) -> int:
    """Seed of a trial's fold: the same for every trial (common random numbers)."""
    return context.config.study.sampler.seed * 1000 + fold


@dataclass
class WorkerSummary:
    trials_run: list[int] = field(default_factory=list)
    trials_failed: list[int] = field(default_factory=list)


def evaluate_params(
    context: StudyContext, loss: str, params: dict[str, Any], trial: optuna.Trial
) -> float:
    """Train the folds with ``params``; finished folds (of an earlier, lost trial) are reused.

    After each fold its score is reported to the trial as an intermediate value at step = fold
    index, so that pruners compare trials on the same folds (:mod:`benchmark.study.pruners`);
    the pruner is asked while folds are left to train.
    """
    cv = context.cross_validation
    key = params_key(params)
    scores: list[float] = []
    for fold in cv.folds:
        trained = cv.train_fold(
            loss,
            params,
            fold,
            seed=fold_seed(context, fold.index),
            fit_dir=context.run_dir.trial_fold_dir(loss, key, fold.index),
            keep_checkpoint=False,
        )
        result = trained.result
        scores.append(result.best_val_map_at_r)
        trial.set_user_attr(
            trial_attrs.fold_key(fold.index),
            {
                trial_attrs.FOLD_VAL_MAP_AT_R: result.best_val_map_at_r,
                trial_attrs.FOLD_BEST_ITERATION: result.best_iteration,
                trial_attrs.FOLD_ITERATIONS: result.iterations,
                trial_attrs.FOLD_WALL_TIME_S: result.wall_time_s,
            },
        )
        trial.report(result.best_val_map_at_r, step=fold.index)
        # After the last fold nothing is left to save: the trial completes with its value.
        if fold is not cv.folds[-1] and trial.should_prune():
            raise optuna.TrialPruned()
    return statistics.fmean(scores)


class _Stop(KeyboardInterrupt):
    """SIGTERM/SIGUSR1 (a Slurm preemption): give the running trial back and stop like Ctrl-C."""


def run_worker(context: StudyContext, loss: str) -> WorkerSummary:
    """Run trials of ``loss``'s study until its budget is finished, then return."""
    config = context.config
    space = load_search_space(get_loss_spec(loss), config.dataset)
    study = create_study(context, loss, space)
    _record_study_settings(study, context, space)
    budget = TrialBudget(
        study,
        context.storage,
        n_trials=config.study.n_trials,
        lock_path=context.run_dir.lock_path(f"budget-{loss}"),
        grace_period=config.study.grace_period,
        max_retries=config.study.max_retries,
        sampler_factory=lambda n: build_sampler(config.study.sampler, space, n),
    )
    summary = WorkerSummary()
    bar = tqdm(
        total=config.study.n_trials,
        initial=budget.state().finished,
        desc=f"study {get_loss_spec(loss).display}",
        unit="trial",
        disable=not context.progress,
    )
    previous_handlers = _install_stop_handlers()
    try:
        while (trial := budget.next_trial()) is not Next.FINISHED:
            if trial is Next.WAIT:
                time.sleep(min(config.study.heartbeat_interval, 5))
                continue
            _run_one_trial(context, trial, budget, loss, space, summary)
            bar.n = budget.state().finished
            bar.refresh()
    finally:
        _restore_handlers(previous_handlers)
        bar.close()
    return summary


def _run_one_trial(
    context: StudyContext,
    trial: optuna.Trial,
    budget: TrialBudget,
    loss: str,
    space: SearchSpace,
    summary: WorkerSummary,
) -> None:
    study = budget.study
    params = space.suggest(trial)
    trial.set_user_attr(trial_attrs.PARAMS, params)
    start = time.time()
    try:
        with Heartbeat(budget, trial.number, context.config.study.heartbeat_interval):
            value = evaluate_params(context, loss, params, trial)
    except optuna.TrialPruned:
        _tell(study, trial, state=TrialState.PRUNED)
    except TrainingDiverged as exc:
        trial.set_user_attr(trial_attrs.FAILURE, trial_attrs.DIVERGED)
        trial.set_user_attr(trial_attrs.FAIL_REASON, str(exc))
        diverged_value = context.config.study.diverged_value
        if diverged_value is None:
            _tell(study, trial, state=TrialState.FAIL)
        else:
            _tell(study, trial, values=diverged_value)
        summary.trials_failed.append(trial.number)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM/SIGUSR1 via _Stop
        budget.requeue(trial, "worker stopped by a signal (preempted or interrupted)")
        raise
    except Exception as exc:
        trial.set_user_attr(trial_attrs.FAILURE, trial_attrs.ERROR)
        trial.set_user_attr(trial_attrs.FAIL_REASON, f"{type(exc).__name__}: {exc}")
        _tell(study, trial, state=TrialState.FAIL)
        raise
    else:
        trial.set_user_attr(trial_attrs.WALL_TIME_S, time.time() - start)
        _tell(study, trial, values=value)
        summary.trials_run.append(trial.number)


def _tell(study: optuna.Study, trial: optuna.Trial, **kwargs: Any) -> None:
    try:
        study.tell(trial, **kwargs)
    except (RuntimeError, ValueError) as exc:
        # Another worker declared this trial lost and re-queued it; its copy will finish it.
        tqdm.write(f"trial {trial.number} was taken over by another worker ({exc})")


def _record_study_settings(study: optuna.Study, context: StudyContext, space: SearchSpace) -> None:
    """Record the resolved search space once; refuse to go on searching another one."""
    recorded = study.user_attrs.get(trial_attrs.SEARCH_SPACE)
    if recorded is not None:
        if recorded != space.to_dict():
            raise ConfigError(
                f"study {study.study_name} was searched over {recorded}, but {space.path} now "
                f"gives {space.to_dict()}; restore the file or start a new --run-dir"
            )
        return
    study.set_user_attr(trial_attrs.SEARCH_SPACE, space.to_dict())
    study.set_user_attr(trial_attrs.SEARCH_SPACE_FILE, str(space.path))
    study.set_user_attr(trial_attrs.SAMPLER, dataclasses.asdict(context.config.study.sampler))
    study.set_user_attr(trial_attrs.N_TRIALS, context.config.study.n_trials)


def _install_stop_handlers() -> dict[int, Any]:
    def handler(signum: int, frame: Any) -> None:
        # Slurm may signal twice (USR1, then TERM at requeue): the hand-back must not be cut.
        for sig in (signal.SIGTERM, signal.SIGUSR1):
            signal.signal(sig, signal.SIG_IGN)
        raise _Stop(signal.Signals(signum).name)

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGUSR1):
        with contextlib.suppress(ValueError):  # not the main thread: no handlers
            previous[sig] = signal.signal(sig, handler)
    return previous


def _restore_handlers(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
