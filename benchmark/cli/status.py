"""``mlrc status``: what a run (local or on Slurm) has cost so far, what is left, and when it
will finish at the current rate."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmark.cli._common import add_command


def register(commands: argparse._SubParsersAction) -> None:
    status = add_command(
        commands,
        "status",
        "per stage and loss: fold trainings done and left, device-hours spent and left, ETA",
        _status,
        description="Read a run directory (and its storage) and print, per loss and stage "
        "(study, retrain), the fold trainings done and left, the device-hours spent (recorded "
        "fold wall times) and left (trainings left x mean fold time, pruning included), and, "
        "while trainings run, the time left at the current rate. Works on any run, local or "
        "on Slurm (`mlrc slurm status` includes it).",
    )
    status.add_argument("run_dir", type=Path, help="the run directory")
    status.add_argument("--json", action="store_true", help="print one JSON object for scripts")
    status.add_argument("--storage", default=None, help="override the run's storage URL")
    status.add_argument(
        "--losses",
        default=None,
        help="comma-separated losses, 'all' or 'demo' (default: those the run has started)",
    )
    status.add_argument(
        "--workers-per-device",
        type=int,
        default=1,
        help="trainings that shared each device (a Slurm profile's workers_per_gpu): each "
        "holds 1/k of it, so device-hours are training-hours / k (default 1)",
    )


def _status(args: argparse.Namespace) -> int:
    from benchmark.errors import ConfigError
    from benchmark.store.run_cost import cost_of_run, format_run_cost
    from benchmark.store.run_directory import RunDirectory

    if args.workers_per_device < 1:
        raise ConfigError(f"--workers-per-device must be >= 1, got {args.workers_per_device}")
    run_dir = RunDirectory(args.run_dir.absolute())
    losses = None
    if args.losses is not None:
        from benchmark.stages.pipeline import resolve_losses  # the loss registry: torch

        config, _ = run_dir.attach(args.storage)
        losses = resolve_losses(args.losses, config)
    cost = cost_of_run(
        run_dir,
        storage_url=args.storage,
        losses=losses,
        workers_per_device=args.workers_per_device,
    )
    print(json.dumps(cost.to_json(), indent=2) if args.json else format_run_cost(cost))
    return 0
