"""``mlrc ablate NAME``: one of the paper's ablation grids, each point a resumable run."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from benchmark.cli._common import (
    ablation_loss_selection,
    add_command,
    add_protocol_arguments,
    check_ablation_points,
    load_config,
    no_result_status,
    root_override,
)

_logger = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction) -> None:
    from benchmark.config.ablation_grids import ABLATIONS

    ablate = add_command(
        commands, "ablate", "run an ablation grid (Tables 4-6, 10-11, Figure 3); resumable", _ablate
    )
    ablate.add_argument(
        "ablation",
        choices=list(ABLATIONS),
        help="; ".join(f"{a.name}: {a.what}" for a in ABLATIONS.values()),
    )
    add_protocol_arguments(ablate)
    ablate.set_defaults(protocol="traditional")
    ablate.add_argument("--losses", default=None, help="comma-separated (default: the ablation's)")
    ablate.add_argument(
        "--values",
        default=None,
        help="the grid instead of the default, e.g. 0,0.1,1 or 'alpha=0.01,0.1;base=0.7,0.8'",
    )
    ablate.add_argument(
        "--point",
        default=None,
        help="run only this grid point: its index (0-based, as in a Slurm array) or its folder "
        "name; the others are left for other processes",
    )
    ablate.add_argument("--list", action="store_true", help="print the grid points and exit")


def _ablate(args: argparse.Namespace) -> int:
    from benchmark.config.ablation_grids import select_points
    from benchmark.report import write_ablation_table
    from benchmark.stages.ablations import run_ablation
    from benchmark.stages.pipeline import resolve_losses
    from benchmark.store.run_directory import RunDirectory, default_run_dir

    base = load_config(args)
    plan = select_points(args.ablation, base, args.values, args.point)
    losses = resolve_losses(ablation_loss_selection(args.losses, plan), base)
    check_ablation_points(args, base, plan, losses)
    if args.list:
        for index, (slug, setting) in enumerate(plan.points):
            print(f"{index}  {slug}  {setting}")
        return 0
    run_dir = RunDirectory(
        Path(args.run_dir or default_run_dir(base, plan.ablation.name)).resolve()
    )
    _logger.info(
        "ablation %s: %d point(s), losses %s",
        plan.ablation.name,
        len(plan.points),
        ", ".join(losses),
    )
    _logger.info("run directory: %s", run_dir.path)
    failed = run_ablation(
        plan,
        losses,
        run_dir,
        protocol=args.protocol,
        dataset=base.dataset,
        overrides=[*args.overrides, *root_override(args.root)],
        progress=not args.no_progress,
        raise_budget=args.raise_budget,
    )
    table = write_ablation_table(run_dir, plan.ablation.name, base)
    print(table)
    _logger.info("results: %s", run_dir.results_path)
    _logger.info("tables:  mlrc tables %s", run_dir.path)
    return no_result_status(failed)
