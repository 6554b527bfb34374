"""``mlrc slurm submit | status | cancel``: run a sweep as Slurm jobs, watch it, stop it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.cli._common import (
    EXAMPLES,
    ablation_loss_selection,
    add_command,
    add_protocol_arguments,
    add_tracker_arguments,
    check_ablation_points,
    load_config,
    load_recorded_plugins,
    tracker_request,
)

if TYPE_CHECKING:
    from benchmark.cluster.ablation_plan import AblationRequest
    from benchmark.config.sections import ProtocolConfig


def register(commands: argparse._SubParsersAction) -> None:
    slurm = commands.add_parser(
        "slurm",
        help="run a sweep on a Slurm cluster: submit, status, cancel",
        description="Submit a sweep as Slurm job arrays, watch it, cancel it.",
        epilog="example: " + EXAMPLES["slurm submit"],
    )
    slurm_commands = slurm.add_subparsers(dest="slurm_command", required=True, metavar="COMMAND")

    submit = add_command(
        slurm_commands,
        "slurm submit",
        "submit the studies, retrains and tables still to do as Slurm jobs (finished work is skipped)",
        _submit,
    )
    add_protocol_arguments(submit)
    add_tracker_arguments(submit)
    submit.set_defaults(protocol=None)  # demo, or traditional with --ablate (as mlrc ablate)
    submit.add_argument(
        "--losses", default=None, help="comma-separated loss names, 'all', or 'demo' (the default)"
    )
    submit.add_argument(
        "--profile",
        required=True,
        type=Path,
        help="cluster profile YAML, e.g. slurm/profiles/example.yaml",
    )
    submit.add_argument(
        "--dry-run",
        action="store_true",
        help="make every check a submit makes that needs no Slurm, dataset or database, write "
        "the scripts and print the sbatch commands; submit nothing",
    )
    submit.add_argument(
        "--ablate",
        default=None,
        metavar="ABLATION",
        help="submit the grid points of an ablation (mlrc ablate's names), one array task per "
        "point, instead of a sweep; the protocol defaults to traditional, as for mlrc ablate",
    )
    submit.add_argument(
        "--values", default=None, help="only with --ablate: the grid (as mlrc ablate)"
    )
    submit.add_argument(
        "--scripts-dir",
        type=Path,
        default=None,
        help="where to write the sbatch scripts (default <run-dir>/slurm/submission-N, or "
        "<run-dir>/slurm/dry-run)",
    )

    status = add_command(
        slurm_commands,
        "slurm status",
        "progress of every study and retrain, and the run's Slurm jobs",
        _status,
    )
    status.add_argument("run_dir", type=Path, help="the run directory of the sweep")
    status.add_argument("--json", action="store_true", help="print one JSON object for scripts")
    status.add_argument("--storage", default=None, help="override the run's storage URL")
    status.add_argument(
        "--workers-per-device",
        type=int,
        default=1,
        help="the profile's workers_per_gpu: device-hours are training-hours / k (default 1)",
    )

    cancel = add_command(
        slurm_commands,
        "slurm cancel",
        "cancel every job of the run still in the queue (running, or pending for any reason)",
        _cancel,
    )
    cancel.add_argument("run_dir", type=Path, help="the run directory of the sweep")


def _submit(args: argparse.Namespace) -> int:
    from benchmark.cluster import load_cluster_profile, submit_sweep
    from benchmark.errors import ConfigError
    from benchmark.search.fixed_params import fixed_params
    from benchmark.search.loss_settings import check_loss_settings
    from benchmark.stages.pipeline import resolve_losses
    from benchmark.store.run_directory import RunDirectory, default_run_dir

    if args.values is not None and not args.ablate:
        raise ConfigError("--values sets an ablation's grid: give it with --ablate NAME")
    if args.protocol is None:
        args.protocol = "traditional" if args.ablate else "demo"
    if args.root is not None:
        args.root = str(Path(args.root).expanduser().absolute())  # jobs start in any directory
    profile = load_cluster_profile(args.profile)
    load_recorded_plugins(args.run_dir)  # resuming a run needs no --plugin again
    config = load_config(args)
    check_loss_settings(config)
    ablation = _ablation_request(args, config) if args.ablate else None
    losses = ablation.losses if ablation else resolve_losses(args.losses, config)
    for loss in losses if ablation is None else []:
        fixed_params(config, loss)  # a loss without parameters to train with fails here
    default_dir = default_run_dir(config, ablation.plan.ablation.name if ablation else None)
    run_dir = RunDirectory(Path(args.run_dir or default_dir).absolute())
    submission = submit_sweep(
        config,
        losses,
        run_dir,
        profile,
        storage_url=args.storage,
        plugins=args.plugin,
        dry_run=args.dry_run,
        scripts_dir=args.scripts_dir.absolute() if args.scripts_dir else None,
        ablation=ablation,
        tracker=tracker_request(args),
        raise_budget=args.raise_budget,
    )
    print(f"run directory: {run_dir.path}")
    print(f"losses: {', '.join(losses)}")
    for reason in submission.plan.skipped:
        print(f"skipped: {reason}")
    if not submission.jobs:
        print("nothing to submit")
        return 0
    if submission.dry_run:
        print(
            f"dry run, nothing submitted; scripts in {submission.scripts_dir}, commands in submit.sh:\n"
        )
        print(submission.commands, end="")
        return 0
    for job in submission.jobs:
        array = f", array {job.job.array_spec}" if job.job.array_spec else ""
        after = f", after {job.dependency}" if job.dependency else ""
        print(f"submitted {job.job.key}: job {job.job_id}{array}{after}")
    print(f"scripts: {submission.scripts_dir}")
    print(f"watch:   mlrc slurm status {run_dir.path}")
    print(f"cancel:  mlrc slurm cancel {run_dir.path}")
    return 0


def _ablation_request(args: argparse.Namespace, config: ProtocolConfig) -> AblationRequest:
    """The grid of --ablate, and the protocol arguments every point job repeats."""
    from benchmark.cluster.ablation_plan import AblationRequest
    from benchmark.config.ablation_grids import select_points
    from benchmark.stages.pipeline import resolve_losses

    plan = select_points(args.ablate, config, args.values)
    losses = resolve_losses(ablation_loss_selection(args.losses, plan), config)
    check_ablation_points(args, config, plan, losses)
    protocol_args = ["--protocol", args.protocol, "--dataset", config.dataset]
    if args.root is not None:
        protocol_args += ["--root", args.root]
    for item in args.overrides:
        protocol_args += ["--set", item]
    if args.raise_budget:
        protocol_args.append("--raise-budget")
    return AblationRequest(plan, losses, tuple(protocol_args))


def _status(args: argparse.Namespace) -> int:
    from benchmark.cluster import format_status, sweep_status
    from benchmark.store.run_directory import RunDirectory

    status = sweep_status(
        RunDirectory(args.run_dir.absolute()),
        storage_url=args.storage,
        workers_per_device=max(args.workers_per_device, 1),
    )
    print(json.dumps(status.to_json(), indent=2) if args.json else format_status(status))
    return 0


def _cancel(args: argparse.Namespace) -> int:
    from benchmark.cluster import cancel_sweep
    from benchmark.store.run_directory import RunDirectory

    run_dir = RunDirectory(args.run_dir.absolute())
    cancelled = cancel_sweep(run_dir)
    if not cancelled:
        print("no job of this run is queued or running")
        return 0
    for job in cancelled:
        print(f"cancelled {job.key}: job {job.job_id}")
    print(
        "running workers hand their trials back; submit again with the same command to resume "
        "(finished trials, folds and repeats are kept)"
    )
    return 0
