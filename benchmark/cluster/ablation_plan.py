"""The jobs of an ablation grid: one array task per grid point not yet finished, then tables.

Each task runs ``mlrc ablate NAME ... --point $SLURM_ARRAY_TASK_ID``: the point trains every
loss in its own run directory (``<run_dir>/points/<slug>/``, resumable like any run) and adds
its rows to the ablation's ``results.csv``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from benchmark.cluster.job import ARRAY_TASK_ID, Argument, Job, compress_indices
from benchmark.cluster.sweep import SweepContext, SweepPlan, add_tables_job
from benchmark.config.ablation_grids import AblationPlan
from benchmark.store.results_file import ResultsFile


@dataclass(frozen=True)
class AblationRequest:
    """An ablation to submit: its grid, its losses, and the protocol arguments of each point."""

    plan: AblationPlan
    losses: list[str]
    protocol_args: tuple[Argument, ...]
    """``--protocol P --dataset D [--root R] [--set K=V ...]`` as the points are run."""


def plan_ablation(
    context: SweepContext,
    request: AblationRequest,
    active: Mapping[str, str],
    running: Collection[str] = (),
) -> SweepPlan:
    """One array over the unfinished points (unless one is still queued), then the tables."""
    plan = SweepPlan()
    ablation = request.plan.ablation
    key = f"ablate-{ablation.name}"
    left = [
        index
        for index in request.plan.selected
        if not _point_finished(context, request, request.plan.points[index][0])
    ]
    done = len(request.plan.selected) - len(left)
    if done:
        plan.skipped.append(f"ablation {ablation.name}: {done} grid point(s) finished")
    if not left:
        plan.skipped.append(f"ablation {ablation.name}: every grid point is finished")
    elif key in active:
        plan.skipped.append(
            f"ablation {ablation.name}: job {active[key]} is still queued or running"
        )
    else:
        plan.jobs.append(_points_job(context, request, key, left))
    if plan.jobs:
        add_tables_job(plan, context, [key], active, running, what="every grid point")
    return plan


def _points_job(context: SweepContext, request: AblationRequest, key: str, left: list[int]) -> Job:
    ablation = request.plan.ablation
    grid = _values_argument(request.plan)  # the whole grid: each task picks its --point
    return Job(
        key=key,
        stage="ablate",
        loss=None,
        name=context.job_name(key),
        description=(
            f"ablation {ablation.name}: grid points {compress_indices(left)} of "
            f"{len(request.plan.points)}, each training {', '.join(request.losses)}"
        ),
        command=context.mlrc(
            "ablate",
            ablation.name,
            *request.protocol_args,
            "--losses",
            ",".join(request.losses),
            "--values",
            grid,
            "--run-dir",
            str(context.run_dir.path),
            "--point",
            ARRAY_TASK_ID,
            "--no-progress",
        ),
        resources=context.profile.resources("retrain"),
        array=tuple(left),
        array_throttle=context.profile.array_throttle,
        progress=(context.run_dir.points_dir,),
    )


def _values_argument(plan: AblationPlan) -> str:
    """The grid as ``--values`` writes it, so every task sees the same points in order."""
    keys = plan.ablation.keys
    per_key = {k: list(dict.fromkeys(setting[k] for _, setting in plan.points)) for k in keys}
    return ";".join(f"{k}=" + ",".join(str(v) for v in per_key[k]) for k in keys)


def _point_finished(context: SweepContext, request: AblationRequest, slug: str) -> bool:
    missing = ResultsFile(context.run_dir.point(slug)).missing_repeats(
        context.config, request.losses
    )
    return not any(missing.values())
