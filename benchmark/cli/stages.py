"""The stages of a benchmark: ``mlrc run`` (all of them), ``study``, ``worker``, ``retrain``."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.cli._common import (
    add_command,
    add_protocol_arguments,
    add_run_dir_arguments,
    load_config,
)


def register(commands: argparse._SubParsersAction) -> None:
    run = add_command(commands, "run", "study -> retrain -> table for several losses on one dataset", _run)
    add_protocol_arguments(run)
    run.add_argument(
        "--losses",
        default=None,
        help="comma-separated loss names, 'all', or 'demo' (the protocol's list; the default)",
    )

    study = add_command(
        commands, "study", "run one loss's Optuna study in this process until its budget is met", _study
    )
    add_protocol_arguments(study)
    study.add_argument("--loss", required=True, help="the loss whose hyperparameters to search")

    worker = add_command(
        commands, "worker", "attach to an existing study and run trials until the budget is met", _worker
    )
    add_run_dir_arguments(worker)

    retrain = add_command(
        commands, "retrain", "retrain the best parameters over the repeats and test them", _retrain
    )
    add_run_dir_arguments(retrain)
    retrain.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="retrain only this repeat (0-based; default: every repeat not yet in results.csv); "
        "--loss untrained evaluates the untrained networks (the 'no training' row)",
    )


def _run_dir(args: argparse.Namespace, config):
    from benchmark.study import RunDirectory
    from benchmark.study.pipeline import default_run_dir

    return RunDirectory(Path(args.run_dir or default_run_dir(config)).resolve())


def _run(args: argparse.Namespace) -> int:
    from benchmark.study import resolve_losses, run_benchmark

    config = load_config(args)
    losses = resolve_losses(args.losses, config)
    run_dir = _run_dir(args, config)
    print(f"run directory: {run_dir.path}")
    print(f"losses: {', '.join(losses)}")
    table = run_benchmark(
        config, losses, run_dir, args.storage, args.plugin, progress=not args.no_progress
    )
    print()
    print(table)
    print(f"\nresults: {run_dir.results_path}\ntable:   {run_dir.table_path}")
    return 0


def _study(args: argparse.Namespace) -> int:
    from benchmark.losses import get_loss_spec
    from benchmark.study import run_worker

    config = load_config(args)
    get_loss_spec(args.loss)
    run_dir = _run_dir(args, config)
    run_dir.initialise(config, args.plugin, args.storage)
    print(f"run directory: {run_dir.path}")
    run_worker(run_dir, args.loss, args.storage, progress=not args.no_progress)
    return 0


def _worker(args: argparse.Namespace) -> int:
    from benchmark.study import RunDirectory, run_worker

    run_dir = RunDirectory(args.run_dir.resolve())
    summary = run_worker(
        run_dir, args.loss, args.storage, progress=not args.no_progress
    )
    print(f"worker done: ran trials {summary.trials_run}, diverged {summary.trials_failed}")
    return 0


def _retrain(args: argparse.Namespace) -> int:
    from benchmark.study import RunDirectory, run_retrain, run_untrained
    from benchmark.study.retrain import UNTRAINED

    run_dir = RunDirectory(args.run_dir.resolve())
    repeats = None if args.repeat is None else [args.repeat]
    progress = not args.no_progress
    if args.loss == UNTRAINED:
        run_dir.attach(args.storage)
        run_untrained(run_dir, progress=progress, repeats=repeats)
    else:
        run_retrain(run_dir, args.loss, args.storage, progress=progress, repeats=repeats)
    return 0
