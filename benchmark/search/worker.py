"""The trial loop of a study worker: attach to one study and run trials until the budget is met.

Any number of workers (processes on one machine, or Slurm array tasks on a shared filesystem)
can attach to the same study; each trial is a class-disjoint cross-validation whose objective is
the mean over folds of each fold's best validation MAP@R.

A worker stops only when it can do nothing useful: the budget is met, nothing is left for it to
start (it leaves, so an idle array task frees its GPU), it was told to stop (SIGTERM/SIGUSR1:
its trial is handed back), trials of several parameter sets in a row raised in it, the
storage stayed unreachable for a whole grace period, or a file could not be written (a full,
read-only or failing disk: its trial is handed back, not counted). A trial that raises is
recorded as failed, with its reason, and its parameters are queued again; the worker goes on. A
trial whose validation score is undefined (NaN) fails and counts, as a diverged one does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import signal
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import TrialState

from benchmark.errors import ConfigError, FilesystemError, StudyFailed, TrainingDiverged
from benchmark.io import describe_filesystem_outage, filesystem_outage
from benchmark.losses import get_loss_spec
from benchmark.losses.search_space import SearchSpace, load_search_space
from benchmark.progress import Progress
from benchmark.search.budget import Heartbeat, Next, TrialBudget
from benchmark.search.context import StudyContext
from benchmark.search.fold_reporter import FoldReporter
from benchmark.search.learning_curves import CurveSteps
from benchmark.search.seeds import search_fold_seed
from benchmark.search.study_factory import build_sampler, create_study
from benchmark.search.trial_tracking import tracked_fold, trial_outcome, trial_run
from benchmark.search.waits import SilentTrialWait, StorageOutage
from benchmark.store import trial_attrs
from benchmark.store.run_directory import params_key
from benchmark.store.storage import is_storage_outage
from benchmark.store.study_state import FAILING_PARAMETER_SETS, no_result_reason
from benchmark.tracking.run_log import chained, tracked_run
from benchmark.tracking.tracker import TrackedRun

_logger = logging.getLogger(__name__)


def fold_seed(context: StudyContext, fold: int) -> int:
    """Seed of a trial's fold: the same for every trial (common random numbers), never one the
    retrain stage uses (:mod:`benchmark.search.seeds`)."""
    config = context.config
    return search_fold_seed(
        config.study.sampler.seed, fold, config.retrain.seed_offset, config.data.n_folds
    )


@dataclass
class WorkerSummary:
    trials_run: list[int] = field(default_factory=list)
    trials_failed: list[int] = field(default_factory=list)
    """Trials that failed and count: their training diverged, or a fold had no score."""
    trials_errored: list[int] = field(default_factory=list)
    """Trials that raised (their parameters were queued again, or given up)."""
    no_result: str | None = None
    """Why the study cannot give a result (its budget is spent without a usable trial), in one
    line with the fix; None when it can, or when it is not finished."""


def evaluate_params(
    context: StudyContext, loss: str, params: dict[str, Any], trial: optuna.Trial
) -> float:
    """Train the folds with ``params``; finished folds (of an earlier, lost trial) are reused.

    Every evaluation inside a fold is reported to the trial as an intermediate value at a
    fold-major step (:mod:`benchmark.search.learning_curves`), so that pruners compare trials at
    the same fold and epoch, and the pruner is asked after each evaluation that does not end its
    fold, and after each fold but the last: a pruned trial stops at once, inside its fold
    (:class:`~benchmark.search.fold_reporter.FoldReporter`), and records what it trained.
    """
    with tracked_run(context.tracker, trial_run(loss, trial, params), trial_outcome) as log:
        value = _train_folds(context, loss, params, trial, log.run)
        log.summary["value"] = value
    return value


def _train_folds(
    context: StudyContext,
    loss: str,
    params: dict[str, Any],
    trial: optuna.Trial,
    tracked_trial: TrackedRun,
) -> float:
    cv = context.cross_validation
    steps = CurveSteps.for_training(context.config.training)
    key = params_key(params)
    scores: list[float] = []
    for fold in cv.folds:
        reporter = FoldReporter(trial, steps, fold.index)
        fit_dir = context.run_dir.trial_fold_dir(loss, key, fold.index)
        seed = fold_seed(context, fold.index)
        with tracked_fold(context.tracker, tracked_trial, fold.index, seed) as fold_log:
            try:
                trained = cv.train_fold(
                    loss,
                    params,
                    fold,
                    seed=seed,
                    fit_dir=fit_dir,
                    keep_checkpoint=False,
                    # The curve is logged before the pruner may stop the fold.
                    on_evaluation=chained(fold_log, reporter),
                )
            except optuna.TrialPruned:
                reporter.record_pruned(fit_dir)
                raise
            result = trained.result
            fold_log.fit_finished(result)
            if not math.isfinite(result.best_val_map_at_r):
                raise _NoScore(fold.index, result.best_val_map_at_r)
        reporter.report(result.curve)  # a fold finished by an earlier trial is reported now
        scores.append(result.best_val_map_at_r)
        trial.set_user_attr(
            trial_attrs.fold_key(fold.index),
            {
                trial_attrs.FOLD_VAL_MAP_AT_R: result.best_val_map_at_r,
                trial_attrs.FOLD_BEST_ITERATION: result.best_iteration,
                trial_attrs.FOLD_ITERATIONS: result.iterations,
                trial_attrs.FOLD_EPOCHS: result.epochs,
                trial_attrs.FOLD_WALL_TIME_S: result.wall_time_s,
            },
        )
        # After the last fold nothing is left to save: the trial completes with its value.
        if fold is not cv.folds[-1] and trial.should_prune():
            raise optuna.TrialPruned()
    return statistics.fmean(scores)


class _NoScore(Exception):
    """A fold's best validation MAP@R is undefined: the trial fails and counts (its data, not
    its parameters, is at fault, and a retry would score the same)."""

    def __init__(self, fold: int, value: float):
        super().__init__(
            f"fold {fold}'s validation MAP@R is {value}: no validation image has another image "
            "of its class to retrieve (every validation class needs at least 2 images)"
        )


class _Stop(KeyboardInterrupt):
    """SIGTERM/SIGUSR1 (a Slurm preemption): give the running trial back and stop like Ctrl-C."""


class _TrialCutOff(Exception):
    """The storage went away during a trial, which could not be handed back then."""

    def __init__(self, trial: optuna.Trial):
        super().__init__(f"trial {trial.number} cut off from the storage")
        self.trial = trial


def run_worker(context: StudyContext, loss: str) -> WorkerSummary:
    """Run trials of ``loss``'s study until its budget is finished (or nothing is left for this
    worker to start), then return."""
    config = context.config
    space = load_search_space(
        get_loss_spec(loss), config.dataset, batch_size=config.training.batch_size
    )
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
        param_names=list(space.distributions()),
    )
    summary = WorkerSummary()
    progress = Progress(
        f"study {get_loss_spec(loss).display}",
        config.study.n_trials,
        logger=_logger,
        unit="trial",
        initial=budget.state().finished,
        bars=context.progress,
    )
    outage = StorageOutage(context)
    silent = SilentTrialWait(context, study.study_name)
    streak = _FailureStreak(study.study_name)
    cut_off: optuna.Trial | None = None
    previous_handlers = _install_stop_handlers()
    try:
        while True:
            try:
                if cut_off is not None:
                    budget.requeue(cut_off, "the storage was unreachable during the trial")
                    cut_off = None
                trial = budget.next_trial()
                outage.over()
                if trial is Next.FINISHED:
                    trials = study.get_trials(deepcopy=False)
                    summary.no_result = no_result_reason(
                        study.study_name, trials, config.study.n_trials
                    )
                    break
                if trial is Next.IDLE:
                    _logger.info(
                        "study %s: live workers hold every trial left; this worker leaves",
                        study.study_name,
                    )
                    break
                if trial is Next.WAIT:
                    silent.wait(budget.silent)
                    continue
                silent.over()
                _run_one_trial(context, trial, budget, loss, space, summary, streak)
                progress.set_count(budget.state().finished)
            except _TrialCutOff as exc:
                cut_off = exc.trial
                outage.wait(exc.__cause__ or exc)
            except Exception as exc:
                if not is_storage_outage(exc):
                    raise
                outage.wait(exc)
    finally:
        _restore_handlers(previous_handlers)
        progress.close()
    return summary


def _run_one_trial(
    context: StudyContext,
    trial: optuna.Trial,
    budget: TrialBudget,
    loss: str,
    space: SearchSpace,
    summary: WorkerSummary,
    streak: _FailureStreak,
) -> None:
    """Run ``trial`` and tell the study; the storage lost meanwhile is :class:`_TrialCutOff`."""
    try:
        _evaluate_trial(context, trial, budget, loss, space, summary, streak)
    except Exception as exc:
        if is_storage_outage(exc):
            raise _TrialCutOff(trial) from exc
        raise


def _evaluate_trial(
    context: StudyContext,
    trial: optuna.Trial,
    budget: TrialBudget,
    loss: str,
    space: SearchSpace,
    summary: WorkerSummary,
    streak: _FailureStreak,
) -> None:
    study = budget.study
    params = space.suggest(trial)
    trial.set_user_attr(trial_attrs.PARAMS, params)
    start = time.time()
    try:
        with Heartbeat(budget, trial.number, context.config.study.heartbeat_interval):
            value = evaluate_params(context, loss, params, trial)
    except optuna.TrialPruned as exc:
        _logger.debug("%s trial %d pruned: %s", loss, trial.number, exc)
        trial.set_user_attr(trial_attrs.WALL_TIME_S, time.time() - start)
        _tell(study, trial, state=TrialState.PRUNED)
    except TrainingDiverged as exc:
        _logger.debug("%s trial %d diverged: %s", loss, trial.number, exc)
        trial.set_user_attr(trial_attrs.FAILURE, trial_attrs.DIVERGED)
        trial.set_user_attr(trial_attrs.FAIL_REASON, str(exc))
        diverged_value = context.config.study.diverged_value
        if diverged_value is None:
            _tell(study, trial, state=TrialState.FAIL)
        else:
            _tell(study, trial, values=diverged_value)
        summary.trials_failed.append(trial.number)
    except _NoScore as exc:
        _logger.warning("trial %d of %s failed and counts: %s", trial.number, study.study_name, exc)
        trial.set_user_attr(trial_attrs.FAILURE, trial_attrs.NO_SCORE)
        trial.set_user_attr(trial_attrs.FAIL_REASON, str(exc))
        _tell(study, trial, state=TrialState.FAIL)
        summary.trials_failed.append(trial.number)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM/SIGUSR1 via _Stop
        with contextlib.suppress(Exception):  # storage down: recovered after the grace period
            budget.requeue(trial, "worker stopped by a signal (preempted or interrupted)")
        raise
    except Exception as exc:
        if is_storage_outage(exc):
            raise
        disk = filesystem_outage(exc)
        if disk is not None:
            outage = describe_filesystem_outage(disk, context.run_dir.path)
            raise _hand_back(budget, trial, outage) from None
        reason = f"{type(exc).__name__}: {exc}"
        queued = budget.requeue(trial, reason, failure=trial_attrs.ERROR, count_retry=True)
        _logger.warning(
            "trial %d of %s raised %s; %s",
            trial.number,
            study.study_name,
            reason,
            "its parameters are queued again" if queued else "not queued again (see fail_reason)",
        )
        summary.trials_errored.append(trial.number)
        streak.failed(params_key(params), reason)
        return
    else:
        trial.set_user_attr(trial_attrs.WALL_TIME_S, time.time() - start)
        _logger.debug("%s trial %d: mean val MAP@R %.4f with %s", loss, trial.number, value, params)
        _tell(study, trial, values=value)
        summary.trials_run.append(trial.number)
    streak.reset()


def _hand_back(budget: TrialBudget, trial: optuna.Trial, outage: str) -> FilesystemError:
    """Give the trial back, uncounted (a disk that fails is not its parameters' fault): the
    worker stops, as retrying would only train again until the same write fails."""
    try:
        budget.requeue(trial, outage)
        handed = f"trial {trial.number} was handed back, not counted"
    except Exception:  # the storage is on the failing disk too: recovered as a lost trial
        handed = f"trial {trial.number} is recovered by the next worker"
    return FilesystemError(
        f"{outage}; this worker stops ({handed}): then run the same command to resume"
    )


class _FailureStreak:
    """Parameter sets whose trials raised in a row in this worker (a success resets it)."""

    def __init__(self, study_name: str):
        self.study_name = study_name
        self.keys: set[str] = set()

    def failed(self, key: str, reason: str) -> None:
        self.keys.add(key)
        if len(self.keys) >= FAILING_PARAMETER_SETS:
            raise StudyFailed(
                f"study {self.study_name}: trials of {len(self.keys)} different parameter sets "
                f"raised in a row in this worker (last: {reason}); it stops, the others go on. "
                "Fix the cause, then run the same command (or submit again) to resume"
            )

    def reset(self) -> None:
        self.keys.clear()


def _tell(study: optuna.Study, trial: optuna.Trial, **kwargs: Any) -> None:
    try:
        study.tell(trial, **kwargs)
    except (RuntimeError, ValueError) as exc:
        # Another worker declared this trial lost and re-queued it; its copy will finish it.
        _logger.warning("trial %d was taken over by another worker (%s)", trial.number, exc)


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

    previous: dict[int, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGUSR1):
        with contextlib.suppress(ValueError):  # not the main thread: no handlers
            previous[sig] = signal.signal(sig, handler)
    return previous


def _restore_handlers(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
