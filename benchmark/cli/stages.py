"""The stages of a benchmark: ``mlrc run`` (all of them), ``study``, ``worker``, ``retrain``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.cli._common import (
    add_command,
    add_protocol_arguments,
    add_run_dir_arguments,
    add_tracker_arguments,
    load_config,
    load_recorded_plugins,
    no_result_status,
    tracker_request,
)

if TYPE_CHECKING:
    from benchmark.config.sections import ProtocolConfig
    from benchmark.search.context import StudyContext
    from benchmark.store.run_directory import RunDirectory

_logger = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction) -> None:
    run = add_command(
        commands, "run", "study -> retrain -> table for several losses on one dataset", _run
    )
    add_protocol_arguments(run)
    add_tracker_arguments(run)
    run.add_argument(
        "--losses",
        default=None,
        help="comma-separated loss names, 'all', or 'demo' (the protocol's list; the default)",
    )
    fixed = run.add_mutually_exclusive_group()
    fixed.add_argument(
        "--params-from",
        default=None,
        metavar="SOURCE",
        help="skip the search: retrain with a published configuration, mlrc2020 (MLRC's "
        "published optima) or a CSV in that schema (sets study.params_from)",
    )
    fixed.add_argument(
        "--search",
        action="store_true",
        help="search each loss's hyperparameters even when the protocol trains with fixed "
        "defaults (sets study.search=true)",
    )

    study = add_command(
        commands,
        "study",
        "run one loss's Optuna study in this process until its budget is met",
        _study,
    )
    add_protocol_arguments(study)
    add_tracker_arguments(study)
    study.add_argument("--loss", required=True, help="the loss whose hyperparameters to search")

    worker = add_command(
        commands,
        "worker",
        "attach to an existing study and run trials until the budget is met",
        _worker,
    )
    add_run_dir_arguments(worker)
    add_tracker_arguments(worker, recorded=True)

    retrain = add_command(
        commands, "retrain", "retrain the best parameters over the repeats and test them", _retrain
    )
    add_run_dir_arguments(retrain)
    add_tracker_arguments(retrain, recorded=True)
    retrain.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="retrain only this repeat (0-based; default: every repeat not yet in results.csv); "
        "--loss untrained evaluates the untrained networks (the 'no training' row)",
    )


def _run_directory(args: argparse.Namespace, config: ProtocolConfig) -> RunDirectory:
    from benchmark.store.run_directory import RunDirectory, default_run_dir

    return RunDirectory(Path(args.run_dir or default_run_dir(config)).resolve())


def _run_config(args: argparse.Namespace) -> ProtocolConfig:
    """The protocol of --protocol/--dataset/--set, with --params-from and --search applied
    (an existing --run-dir's plugins loaded first: its datasets and losses are known)."""
    load_recorded_plugins(args.run_dir)
    overrides = []
    if getattr(args, "params_from", None) is not None:
        overrides.append(f"study.params_from={args.params_from}")
    if getattr(args, "search", False):
        overrides.append("study.search=true")
    return load_config(args, extra_overrides=overrides)


def _created_context(
    args: argparse.Namespace, config: ProtocolConfig, losses: list[str]
) -> StudyContext:
    """The run of ``config`` (from :func:`_run_config`) for ``losses`` in --run-dir, created
    or resumed; folds on which every trial of one of ``losses`` would fail are refused first."""
    from benchmark.search.context import StudyContext

    run_dir = _run_directory(args, config)
    return StudyContext.create(
        config,
        run_dir,
        args.storage,
        args.plugin,
        progress=not args.no_progress,
        tracker=tracker_request(args),
        raise_budget=args.raise_budget,
        losses=losses,
    )


def _attached_context(args: argparse.Namespace) -> StudyContext:
    """The existing run of --run-dir, joined by a process started cold."""
    from benchmark.search.context import StudyContext

    return StudyContext.attach(
        args.run_dir.resolve(),
        args.storage,
        progress=not args.no_progress,
        tracker=tracker_request(args),
    )


def _run(args: argparse.Namespace) -> int:
    from benchmark.report import write_run_table
    from benchmark.stages.pipeline import resolve_losses, run_stages

    config = _run_config(args)
    load_recorded_plugins(_run_directory(args, config).path)  # the default --run-dir's too
    losses = resolve_losses(args.losses, config)
    context = _created_context(args, config, losses)
    _logger.info("run directory: %s", context.run_dir.path)
    _logger.info("losses: %s", ", ".join(losses))
    outcome = run_stages(context, losses)
    table = write_run_table(context.run_dir, context.config)  # every loss with results
    print(table)
    _logger.info("results: %s", context.run_dir.results_path)
    _logger.info("table:   %s", context.run_dir.table_path)
    return no_result_status(outcome.failed)


def _study(args: argparse.Namespace) -> int:
    from benchmark.losses import get_loss_spec
    from benchmark.search.worker import run_worker

    get_loss_spec(args.loss)
    context = _created_context(args, _run_config(args), [args.loss])
    _logger.info("run directory: %s", context.run_dir.path)
    summary = run_worker(context, args.loss)
    return no_result_status({} if summary.no_result is None else {args.loss: summary.no_result})


def _worker(args: argparse.Namespace) -> int:
    from benchmark.search.study_factory import require_joinable
    from benchmark.search.worker import run_worker

    context = _attached_context(args)
    require_joinable(context, args.loss, args.storage)
    summary = run_worker(context, args.loss)
    _logger.info(
        "worker done: ran trials %s, diverged or unscored %s",
        summary.trials_run,
        summary.trials_failed,
    )
    return no_result_status({} if summary.no_result is None else {args.loss: summary.no_result})


def _retrain(args: argparse.Namespace) -> int:
    from benchmark.stages.baseline import run_untrained
    from benchmark.stages.retrain import run_retrain
    from benchmark.store.results_file import UNTRAINED

    context = _attached_context(args)
    repeats = None if args.repeat is None else [args.repeat]
    if args.loss == UNTRAINED:
        run_untrained(context, repeats)
    else:
        run_retrain(context, args.loss, repeats)
    return 0
