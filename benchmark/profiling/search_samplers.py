"""``mlrc profile samplers``: TPE against MLRC's Sobol + GP design, on the same study and budget.

For each sampler and seed the study of one loss runs to its budget in this process (the best
objective it reaches is the comparison); then, for each sampler, the same study runs with several
``mlrc worker`` processes at once, and the parameters they evaluated are checked for duplicates
(points closer than ``DUPLICATE_DISTANCE`` in the unit cube of the search space).
"""

from __future__ import annotations

import itertools
import math
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from optuna.trial import TrialState

from benchmark.config import load_protocol
from benchmark.errors import ConfigError
from benchmark.io import atomic_write_csv
from benchmark.losses import get_loss_spec
from benchmark.losses.search_space import SearchSpace, load_search_space
from benchmark.profiling.workers import start_workers, wait_for_workers
from benchmark.search.context import StudyContext
from benchmark.search.study_factory import load_study
from benchmark.search.worker import run_worker
from benchmark.store import trial_attrs
from benchmark.store.run_directory import RunDirectory

DUPLICATE_DISTANCE = 1e-3
SAMPLER_COLUMNS = (
    "sampler",
    "seed",
    "workers",
    "trials",
    "diverged",
    "best_value",
    "min_distance",
    "duplicates",
    "wall_time_s",
)


def compare_samplers(
    protocol: str,
    dataset: str | None,
    loss: str,
    kinds: Sequence[str] = ("tpe", "gp"),
    seeds: Sequence[int] = (0, 1, 2),
    workers: int = 2,
    overrides: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """One row per (sampler, seed) run alone and one per sampler run by ``workers`` workers."""
    if workers < 1:
        raise ConfigError(
            f"--workers must be >= 1 (the processes of the parallel run), got {workers}"
        )
    get_loss_spec(loss)
    configs = {}  # every sampler and seed checked before any training
    for kind, seed in itertools.product(kinds, seeds):
        settings = [*overrides, f"study.sampler.kind={kind}", f"study.sampler.seed={seed}"]
        try:
            configs[kind, seed] = load_protocol(protocol, dataset, settings)
        except ConfigError as exc:
            raise ConfigError(f"sampler {kind!r}, seed {seed}: {exc}") from None
    rows = []
    with tempfile.TemporaryDirectory(prefix="mlrc-samplers-") as scratch:
        for kind, seed in itertools.product(kinds, seeds):
            config = configs[kind, seed]
            run_dir = RunDirectory(Path(scratch) / f"{kind}-{seed}")
            context = StudyContext.create(config, run_dir, progress=False)
            start = time.perf_counter()
            run_worker(context, loss)
            rows.append(_row(context, loss, kind, seed, 1, time.perf_counter() - start))
        for kind in kinds:
            config = configs[kind, seeds[0]]
            run_dir = RunDirectory(Path(scratch) / f"{kind}-parallel")
            context = StudyContext.create(config, run_dir, progress=False)
            wall = _run_parallel_workers(run_dir, loss, workers)
            rows.append(_row(context, loss, kind, seeds[0], workers, wall))
    return rows


def _run_parallel_workers(run_dir: RunDirectory, loss: str, workers: int) -> float:
    """Run ``workers`` single-threaded ``mlrc worker`` processes on the run; their wall time."""
    start = time.perf_counter()
    processes, logs = start_workers(run_dir.path, loss, workers, threads=1)
    failure = wait_for_workers(processes, logs, deadline=math.inf)
    if failure is not None:
        raise RuntimeError(f"a worker of {run_dir.path} failed: {failure}")
    return time.perf_counter() - start


def _row(
    context: StudyContext, loss: str, kind: str, seed: int, workers: int, wall_time_s: float
) -> dict[str, Any]:
    study = load_study(context, loss)
    config = context.config
    space = load_search_space(
        get_loss_spec(loss), config.dataset, batch_size=config.training.batch_size
    )
    trials = [t for t in study.trials if t.state == TrialState.COMPLETE]
    scored = [
        t.value
        for t in trials
        if t.user_attrs.get(trial_attrs.FAILURE) != trial_attrs.DIVERGED and t.value is not None
    ]
    distances = _pairwise_distances(space, [t.params for t in trials])
    return {
        "sampler": kind,
        "seed": seed,
        "workers": workers,
        "trials": len(study.trials),
        "diverged": sum(
            t.user_attrs.get(trial_attrs.FAILURE) == trial_attrs.DIVERGED for t in study.trials
        ),
        "best_value": max(scored) if scored else math.nan,
        "min_distance": float(distances.min()) if distances.size else math.nan,
        "duplicates": int((distances < DUPLICATE_DISTANCE).sum()),
        "wall_time_s": wall_time_s,
    }


def _pairwise_distances(space: SearchSpace, points: list[dict[str, float]]) -> np.ndarray:
    """Distances between every two points in the unit cube (log ranges on a log axis)."""
    if len(points) < 2:
        return np.zeros(0)
    unit = np.array([[_unit(space, name, p[name]) for name in space.params] for p in points])
    pairs = itertools.combinations(range(len(unit)), 2)
    return np.array([np.linalg.norm(unit[i] - unit[j]) for i, j in pairs])


def _unit(space: SearchSpace, name: str, value: float) -> float:
    p = space.params[name]
    if p.log:
        return (math.log(value) - math.log(p.low)) / (math.log(p.high) - math.log(p.low))
    return (value - p.low) / (p.high - p.low) if p.high > p.low else 0.0


def format_sampler_table(rows: Sequence[dict[str, Any]]) -> str:
    """The rows, then per sampler the mean best objective of the single-worker runs."""
    header = f"{'sampler':<8} {'seed':>4} {'workers':>7} {'trials':>6} {'diverged':>8} {'best MAP@R':>10} {'min dist':>9} {'dupl.':>5} {'time s':>7}"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['sampler']:<8} {r['seed']:>4} {r['workers']:>7} {r['trials']:>6} {r['diverged']:>8} "
            f"{r['best_value']:>10.4f} {r['min_distance']:>9.3f} {r['duplicates']:>5} {r['wall_time_s']:>7.0f}"
        )
    lines.append("")
    for kind in dict.fromkeys(r["sampler"] for r in rows):
        best = [r["best_value"] for r in rows if r["sampler"] == kind and r["workers"] == 1]
        if best:
            lines.append(
                f"{kind}: mean best objective {np.mean(best):.4f} (min {min(best):.4f}, max "
                f"{max(best):.4f}) over {len(best)} seeds"
            )
    return "\n".join(lines)


def write_sampler_csv(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """The rows as CSV, written atomically (a NaN, e.g. no scored trial, as an empty field)."""
    path = Path(path)
    atomic_write_csv(path, [_blank_nans(row) for row in rows], SAMPLER_COLUMNS, lineterminator="\n")
    return path


def _blank_nans(row: dict[str, Any]) -> dict[str, Any]:
    return {key: None if _is_nan(value) else value for key, value in row.items()}


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
