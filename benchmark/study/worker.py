"""A study worker: attaches to one study and runs trials until the budget is met.

Any number of workers (processes on one machine, or Slurm array tasks on a shared filesystem)
can attach to the same study; each trial is a 4-fold cross-validation whose objective is the
mean over folds of each fold's best validation MAP@R.
"""

from __future__ import annotations

import contextlib
import signal
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import TrialState
from tqdm.auto import tqdm

from benchmark.config import ProtocolConfig, SamplerConfig
from benchmark.errors import StudyFailed, TrainingDiverged
from benchmark.losses import get_loss_spec
from benchmark.losses.search_space import SearchSpace, load_search_space
from benchmark.study.budget import Heartbeat, Next, TrialBudget
from benchmark.study.cross_validation import CrossValidation
from benchmark.study.run_dir import RunDirectory, params_key
from benchmark.study.storage import open_storage

PARAMS_ATTR = "loss_params"


def study_name(config: ProtocolConfig, loss: str) -> str:
    return f"{config.name}.{config.dataset}.{loss}"


def fold_seed(config: ProtocolConfig, fold: int) -> int:
    """Seed of a trial's fold: the same for every trial (common random numbers)."""
    return config.study.sampler.seed * 1000 + fold


def make_sampler(settings: SamplerConfig, n_existing_trials: int = 0) -> optuna.samplers.TPESampler:
    """TPE with every setting explicit, seeded from the protocol seed and the number of trials
    already in the study, i.e. the number of the trial about to be asked (taken under the budget
    lock). Each trial gets its own seed whichever worker asks for it: parallel workers explore
    differently, a restarted worker does not repeat earlier draws, and the random start-up
    trials are the same on one worker, on many, or on a Slurm array."""
    return optuna.samplers.TPESampler(
        seed=settings.seed + n_existing_trials,
        n_startup_trials=settings.n_startup_trials,
        n_ei_candidates=settings.n_ei_candidates,
        multivariate=settings.multivariate,
        group=settings.group,
        constant_liar=settings.constant_liar,
    )


def make_pruner(config: ProtocolConfig) -> optuna.pruners.BasePruner:
    if config.study.pruner == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=config.study.sampler.n_startup_trials,
            n_warmup_steps=config.study.pruner_warmup_folds,
        )
    return optuna.pruners.NopPruner()


def open_study(
    run_dir: RunDirectory, config: ProtocolConfig, loss: str, storage_url: str | None
) -> tuple[optuna.Study, Any]:
    storage = open_storage(storage_url, run_dir.journal_path)
    study = optuna.create_study(
        study_name=study_name(config, loss),
        storage=storage,
        sampler=make_sampler(config.study.sampler),
        pruner=make_pruner(config),
        direction="maximize",
        load_if_exists=True,
    )
    return study, storage


@dataclass
class WorkerSummary:
    trials_run: list[int] = field(default_factory=list)
    trials_failed: list[int] = field(default_factory=list)


def evaluate_params(
    cv: CrossValidation,
    run_dir: RunDirectory,
    loss: str,
    params: dict[str, Any],
    trial: optuna.Trial,
) -> float:
    """Train the folds with ``params``; finished folds (of an earlier, lost trial) are reused."""
    key = params_key(params)
    scores: list[float] = []
    for fold in cv.folds:
        result = cv.train_fold(
            loss,
            params,
            fold,
            seed=fold_seed(cv.config, fold.index),
            run_dir=run_dir.trial_fold_dir(loss, key, fold.index),
            keep_checkpoint=False,
        )
        scores.append(result.best_val_map_at_r)
        trial.set_user_attr(
            f"fold_{fold.index}",
            {
                "val_map_at_r": result.best_val_map_at_r,
                "best_iteration": result.best_iteration,
                "iterations": result.iterations,
                "wall_time_s": result.wall_time_s,
            },
        )
        if cv.config.study.pruner != "none":
            trial.report(statistics.fmean(scores), step=fold.index)
            if trial.should_prune():
                raise optuna.TrialPruned()
    return statistics.fmean(scores)


class _Stop(KeyboardInterrupt):
    """SIGTERM/SIGUSR1 (a Slurm preemption): give the running trial back and stop like Ctrl-C."""


def run_worker(
    run_dir: RunDirectory,
    loss: str,
    storage_url: str | None = None,
    progress: bool = True,
    cv: CrossValidation | None = None,
) -> WorkerSummary:
    """Run trials of ``loss``'s study until its budget is finished, then return."""
    config, storage_url = run_dir.attach(storage_url)
    spec = get_loss_spec(loss)
    space = load_search_space(spec)
    cv = cv or CrossValidation(config, progress=progress)
    study, storage = open_study(run_dir, config, loss, storage_url)
    _record_study_settings(study, config, space)
    budget = TrialBudget(
        study,
        storage,
        n_trials=config.study.n_trials,
        lock_path=run_dir.lock_path(f"budget-{loss}"),
        grace_period=config.study.grace_period,
        max_retries=config.study.max_retries,
        sampler_factory=lambda n: make_sampler(config.study.sampler, n),
    )
    summary = WorkerSummary()
    bar = tqdm(
        total=config.study.n_trials,
        initial=budget.state().finished,
        desc=f"study {spec.display}",
        unit="trial",
        disable=not progress,
    )
    previous_handlers = _install_stop_handlers()
    try:
        while True:
            trial = budget.next_trial()
            if trial is Next.FINISHED:
                break
            if trial is Next.WAIT:
                time.sleep(min(config.study.heartbeat_interval, 5))
                continue
            _run_one_trial(trial, budget, cv, run_dir, loss, space, config, summary)
            bar.n = budget.state().finished
            bar.refresh()
    finally:
        _restore_handlers(previous_handlers)
        bar.close()
    return summary


def _run_one_trial(
    trial: optuna.Trial,
    budget: TrialBudget,
    cv: CrossValidation,
    run_dir: RunDirectory,
    loss: str,
    space: SearchSpace,
    config: ProtocolConfig,
    summary: WorkerSummary,
) -> None:
    study = budget.study
    params = space.suggest(trial)
    trial.set_user_attr(PARAMS_ATTR, params)
    start = time.time()
    try:
        with Heartbeat(budget, trial.number, config.study.heartbeat_interval):
            value = evaluate_params(cv, run_dir, loss, params, trial)
    except optuna.TrialPruned:
        _tell(study, trial, state=TrialState.PRUNED)
    except TrainingDiverged as exc:
        trial.set_user_attr("failure", "diverged")
        trial.set_user_attr("fail_reason", str(exc))
        _tell(study, trial, state=TrialState.FAIL)
        summary.trials_failed.append(trial.number)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM/SIGUSR1 via _Stop
        budget.requeue(trial, "worker stopped by a signal (preempted or interrupted)")
        raise
    except Exception as exc:
        trial.set_user_attr("failure", "error")
        trial.set_user_attr("fail_reason", f"{type(exc).__name__}: {exc}")
        _tell(study, trial, state=TrialState.FAIL)
        raise
    else:
        trial.set_user_attr("wall_time_s", time.time() - start)
        _tell(study, trial, values=value)
        summary.trials_run.append(trial.number)


def _tell(study: optuna.Study, trial: optuna.Trial, **kwargs: Any) -> None:
    try:
        study.tell(trial, **kwargs)
    except (RuntimeError, ValueError) as exc:
        # Another worker declared this trial lost and re-queued it; its copy will finish it.
        tqdm.write(f"trial {trial.number} was taken over by another worker ({exc})")


def _record_study_settings(study: optuna.Study, config: ProtocolConfig, space: SearchSpace) -> None:
    if "search_space" in study.user_attrs:
        return
    study.set_user_attr("search_space", space.describe())
    study.set_user_attr("sampler", vars(config.study.sampler))
    study.set_user_attr("n_trials", config.study.n_trials)


def _install_stop_handlers() -> dict[int, Any]:
    def handler(signum: int, frame: Any) -> None:
        raise _Stop(signal.Signals(signum).name)

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGUSR1):
        with contextlib.suppress(ValueError):  # not the main thread: no handlers
            previous[sig] = signal.signal(sig, handler)
    return previous


def _restore_handlers(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def best_params(study: optuna.Study) -> dict[str, Any]:
    """The full parameters (searched + fixed) of the best completed trial."""
    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not completed:
        reasons = sorted({t.user_attrs.get("fail_reason", "") for t in study.trials} - {""})
        raise StudyFailed(
            f"study {study.study_name}: none of its {len(study.trials)} trials completed; "
            + (f"first failure: {reasons[0]}" if reasons else "run `mlrc worker` to finish it")
        )
    best = max(completed, key=lambda t: (t.value, -t.number))
    return dict(best.user_attrs.get(PARAMS_ATTR, best.params))
