"""``mlrc slurm status`` and ``mlrc slurm cancel``: a sweep's progress and its Slurm jobs.

Progress comes from the storage and ``results.csv`` (the truth, whatever ran the work); job
states from ``squeue``, and from ``sacct`` for jobs the controller has forgotten, when the
cluster keeps accounting. A pending job shows why it waits; one that can never start says so.
When Slurm does not answer, the progress is still shown, with a note.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmark.cluster.ledger import Ledger, LedgerEntry
from benchmark.cluster.slurm import NEVER_SATISFIED, Slurm, TaskState
from benchmark.cluster.sweep_progress import (
    RetrainProgress,
    StudyProgress,
    read_retrain_progress,
    read_study_progress,
    started_studies,
)
from benchmark.errors import SlurmError
from benchmark.store.results_file import UNTRAINED
from benchmark.store.run_cost import RunCost, cost_of_run, format_run_cost
from benchmark.store.run_directory import RunDirectory
from benchmark.store.storage import masked_url, trials_by_study

NO_ACCOUNTING = (
    "some jobs are no longer known to the Slurm controller and sacct is not available here "
    "(the cluster keeps no accounting), so their final state is unknown; the progress above "
    "is read from the run directory and is exact"
)


@dataclass(frozen=True)
class JobStatus:
    """One ledger entry with the states of its tasks (``{"RUNNING": 2, "PENDING": 6}``)."""

    key: str
    job_id: str
    stage: str
    loss: str | None
    array: str | None
    submission: int
    states: dict[str, int]
    reasons: list[str]
    """Why its pending tasks wait (squeue's reasons: Dependency, Priority, Resources, ...)."""
    active: bool
    """Some task is still queued or running and able to run."""
    queued: bool = False
    """Some task is still in the queue, even one that can never start."""


@dataclass
class SweepStatus:
    run_dir: Path
    protocol: str
    dataset: str
    storage: str
    studies: list[StudyProgress]
    retrains: list[RetrainProgress]
    jobs: list[JobStatus]
    notes: list[str] = field(default_factory=list)
    cost: RunCost | None = None
    """Device-hours spent and left, and the ETA (``mlrc status``)."""

    def to_json(self) -> dict[str, Any]:
        """A plain dict for ``--json`` (``remaining`` and ``done`` included)."""
        return {
            "run_dir": str(self.run_dir),
            "protocol": self.protocol,
            "dataset": self.dataset,
            "storage": self.storage,
            "studies": [
                {**asdict(s), "remaining": s.remaining, "done": s.done} for s in self.studies
            ],
            "retrains": [
                {
                    "loss": r.loss,
                    "repeats": r.repeats,
                    "done": list(r.done),
                    "remaining": r.remaining,
                }
                for r in self.retrains
            ],
            "jobs": [asdict(j) for j in self.jobs],
            "notes": self.notes,
            "cost": self.cost.to_json() if self.cost else None,
        }


def sweep_status(
    run_dir: RunDirectory,
    slurm: Slurm | None = None,
    storage_url: str | None = None,
    workers_per_device: int = 1,
) -> SweepStatus:
    """Progress of every study and retrain of the run, the states of its Slurm jobs, and its
    cost so far and left (:func:`~benchmark.store.run_cost.cost_of_run`)."""
    slurm = slurm or Slurm()
    config, storage_url = run_dir.attach(storage_url)
    ledger = Ledger(run_dir)
    entries = ledger.entries()
    trials = trials_by_study(run_dir, storage_url)
    losses = _losses(entries, started_studies(config, trials))
    jobs, notes = (
        _job_states(entries, slurm)
        if entries
        else ([], [f"no Slurm jobs recorded in {ledger.path}"])
    )
    return SweepStatus(
        run_dir=run_dir.path,
        protocol=config.name,
        dataset=config.dataset,
        storage=_shown_storage(storage_url),
        studies=read_study_progress(config, losses, trials),
        retrains=read_retrain_progress(run_dir, config, [*losses, UNTRAINED]),
        jobs=jobs,
        notes=notes,
        cost=cost_of_run(run_dir, storage_url, losses, workers_per_device, trials=trials),
    )


def cancel_sweep(run_dir: RunDirectory, slurm: Slurm | None = None) -> list[JobStatus]:
    """Cancel every job of the run that is still in the queue, whatever it waits for (one
    that can never start included); returns them."""
    slurm = slurm or Slurm()
    run_dir.read_manifest()  # not a run directory -> one clear error
    entries = Ledger(run_dir).entries()
    tasks = _by_job(slurm.states(e.job_id for e in entries)) if entries else {}
    jobs = [_job_status(entry, tasks.get(entry.job_id, [])) for entry in entries]
    queued = [job for job in jobs if job.queued]
    slurm.cancel(job.job_id for job in queued)
    return queued


def format_status(status: SweepStatus) -> str:
    """The human-readable report of ``mlrc slurm status``."""
    lines = [
        f"run directory: {status.run_dir}",
        f"protocol {status.protocol}, dataset {status.dataset}, storage {status.storage}",
        "",
        f"{'study':<24} {'complete':>9} {'running':>8} {'waiting':>8} {'failed':>7} "
        f"{'pruned':>7} {'remaining':>10}  best val MAP@R",
    ]
    for s in status.studies:
        best = f"{s.best_value:.4f}" if s.best_value is not None else "-"
        lines.append(
            f"{s.loss:<24} {f'{s.complete}/{s.n_trials}':>9} {s.running:>8} {s.waiting:>8} "
            f"{s.failed:>7} {s.pruned:>7} {s.remaining:>10}  {best}"
        )
    lines += ["", f"{'retrain':<24} {'repeats done':>13}  remaining"]
    for r in status.retrains:
        remaining = ",".join(map(str, r.remaining)) or "-"
        lines.append(f"{r.loss:<24} {f'{len(r.done)}/{r.repeats}':>13}  {remaining}")
    lines += ["", f"{'slurm job':<24} {'id':>9}  states"]
    for job in status.jobs:
        states = ", ".join(
            f"{state} x{count}" if count > 1 else state for state, count in job.states.items()
        )
        reasons = f" ({', '.join(job.reasons)})" if job.reasons else ""
        lines.append(f"{job.key:<24} {job.job_id:>9}  {states}{reasons}")
    lines += [f"note: {note}" for note in status.notes]
    if status.cost is not None:
        lines += ["", *format_run_cost(status.cost).splitlines()[3:]]  # without its header
    return "\n".join(lines)


def _job_states(entries: list[LedgerEntry], slurm: Slurm) -> tuple[list[JobStatus], list[str]]:
    notes = []
    try:
        tasks = _by_job(slurm.states(e.job_id for e in entries))
    except SlurmError as exc:
        unknown = [_job_status(entry, []) for entry in entries]
        return unknown, [f"job states unknown ({exc}); the progress above is exact"]
    forgotten = [e.job_id for e in entries if e.job_id not in tasks]
    if forgotten:
        accounted = slurm.accounting(forgotten)
        if accounted is None:
            notes.append(NO_ACCOUNTING)
        else:
            tasks.update(_by_job(t for t in accounted if "." not in t.job_id))
    jobs = [_job_status(entry, tasks.get(entry.job_id, [])) for entry in entries]
    if any(NEVER_SATISFIED in job.reasons for job in jobs):
        notes.append(
            f"a job pending with {NEVER_SATISFIED} never starts (a job it waited for failed): "
            "`mlrc slurm cancel` it, or submit again, which cancels it and queues what is left"
        )
    return jobs, notes


def _job_status(entry: LedgerEntry, states: list[TaskState]) -> JobStatus:
    counts = Counter(task.state.split()[0] for task in states) or Counter({"UNKNOWN": 1})
    reasons = sorted({t.reason for t in states if t.queued and t.reason not in ("", "None")})
    return JobStatus(
        key=entry.key,
        job_id=entry.job_id,
        stage=entry.stage,
        loss=entry.loss,
        array=entry.array,
        submission=entry.submission,
        states=dict(counts),
        reasons=reasons,
        active=any(task.active for task in states),
        queued=any(task.queued for task in states),
    )


def _by_job(tasks: Iterable[TaskState]) -> dict[str, list[TaskState]]:
    grouped: dict[str, list[TaskState]] = {}
    for task in tasks:
        grouped.setdefault(task.job_id.split("_")[0], []).append(task)
    return grouped


def _losses(entries: list[LedgerEntry], started: list[str]) -> list[str]:
    """The losses of the ledger in submission order, then studies started some other way."""
    losses = [e.loss for e in entries if e.loss and e.loss != UNTRAINED]
    return list(dict.fromkeys([*losses, *started]))


def _shown_storage(url: str | None) -> str:
    if not url:
        return "journal file in the run directory"
    return masked_url(url)
