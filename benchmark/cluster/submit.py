"""``mlrc slurm submit``: check, plan, write the scripts, submit them in dependency order.

A real submission checks the dataset root and the storage first (nothing is queued that would
fail on its first line), records the run's settings in ``run.json`` (``StudyContext.create``),
and records every job in the ledger as soon as sbatch accepts it. A dry run only writes the scripts and the sbatch
commands that would submit them (``submit.sh``); it needs neither Slurm, nor the dataset, nor
the run directory to exist.
"""

from __future__ import annotations

import re
import shlex
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from benchmark.cluster.ablation_plan import AblationRequest, plan_ablation
from benchmark.cluster.cluster_profile import ClusterProfile
from benchmark.cluster.job import Job
from benchmark.cluster.ledger import Ledger, LedgerEntry
from benchmark.cluster.script import render_script
from benchmark.cluster.slurm import Slurm
from benchmark.cluster.sweep import SweepContext, SweepPlan, plan_sweep
from benchmark.config import ProtocolConfig
from benchmark.data import load_dataset
from benchmark.errors import SlurmError
from benchmark.study import RunDirectory, StudyContext


@dataclass(frozen=True)
class SubmittedJob:
    job: Job
    script: Path
    dependency: str | None
    """As given to sbatch: job ids, or ``$variables`` of the printed commands in a dry run."""
    job_id: str | None = None
    """None in a dry run."""


@dataclass(frozen=True)
class Submission:
    plan: SweepPlan
    scripts_dir: Path
    jobs: list[SubmittedJob]
    commands: str
    """The sbatch commands, as a shell script that submits the jobs by hand."""
    dry_run: bool


def submit_sweep(
    config: ProtocolConfig,
    losses: list[str],
    run_dir: RunDirectory,
    profile: ClusterProfile,
    storage_url: str | None = None,
    plugins: list[str] | None = None,
    dry_run: bool = False,
    scripts_dir: Path | None = None,
    ablation: AblationRequest | None = None,
) -> Submission:
    """Submit the jobs still needed for ``losses`` (or, with ``dry_run``, only write them);
    with ``ablation``, the grid points of that ablation instead of a sweep."""
    slurm = Slurm()
    storage_url = storage_url or profile.storage
    ledger = Ledger(run_dir)
    number = ledger.next_submission()
    if dry_run:
        active = active_jobs(ledger, slurm) if slurm.available() else {}
        scripts_dir = scripts_dir or _fresh_dry_run_folder(run_dir)
    else:
        _check_before_submitting(config, run_dir, storage_url, plugins, slurm, ablation)
        active = active_jobs(ledger, slurm)
        scripts_dir = scripts_dir or run_dir.submission_dir(number)
    if storage_url is None and run_dir.exists():
        storage_url = run_dir.read_manifest().get("storage")

    context = SweepContext(run_dir, config, profile, storage_url)
    if ablation is None:
        plan = plan_sweep(context, losses, active)
    else:
        plan = plan_ablation(context, ablation, active)
    log_dir = run_dir.slurm_logs_dir
    scripts = _write_scripts(plan.jobs, profile, scripts_dir, log_dir)
    commands = sbatch_commands(plan.jobs, scripts, active)
    if dry_run:
        if plan.jobs:
            (scripts_dir / "submit.sh").write_text(commands)
        return Submission(
            plan, scripts_dir, _dry_run_jobs(plan.jobs, scripts, active), commands, True
        )
    log_dir.mkdir(parents=True, exist_ok=True)
    submitted = _submit_in_order(
        plan.jobs, scripts, active, ledger, number, scripts_dir, profile, slurm
    )
    return Submission(plan, scripts_dir, submitted, commands, False)


def _fresh_dry_run_folder(run_dir: RunDirectory) -> Path:
    folder = run_dir.dry_run_dir
    for stale in [*folder.glob("*.sbatch"), folder / "submit.sh"]:
        stale.unlink(missing_ok=True)  # from an earlier dry run
    return folder


def _check_before_submitting(
    config: ProtocolConfig,
    run_dir: RunDirectory,
    storage_url: str | None,
    plugins: list[str] | None,
    slurm: Slurm,
    ablation: AblationRequest | None,
) -> None:
    """A missing sbatch, a wrong dataset root or an unreachable database fails now, before any
    job is queued; a sweep's settings are recorded in ``run.json``."""
    if not slurm.available():
        raise SlurmError(
            "sbatch is not installed here: run `mlrc slurm submit` on a Slurm login node, or "
            "add --dry-run to only write the scripts"
        )
    if ablation is None:
        StudyContext.create(config, run_dir, storage_url, plugins or [], progress=False)
    else:  # each grid point is a run of its own: only the dataset is shared
        load_dataset(config.dataset, config.data.root, config.data)


def _submit_in_order(
    jobs: list[Job],
    scripts: Mapping[str, Path],
    active: Mapping[str, str],
    ledger: Ledger,
    number: int,
    scripts_dir: Path,
    profile: ClusterProfile,
    slurm: Slurm,
) -> list[SubmittedJob]:
    """sbatch every job after those it depends on; record each in the ledger, as submission
    ``number``, once accepted."""
    submitted = []
    job_ids = dict(active)
    for job in jobs:
        dependency = dependency_spec(job, job_ids)
        try:
            job_id = slurm.submit(scripts[job.key], dependency, profile.source)
        except SlurmError as exc:
            if submitted:
                done = ", ".join(f"{s.job.key} (job {s.job_id})" for s in submitted)
                raise SlurmError(
                    f"{exc}; already submitted: {done} (recorded in {ledger.path}; fix the "
                    "problem and submit again: queued stages are not submitted twice)"
                ) from None
            raise
        job_ids[job.key] = job_id
        entry = LedgerEntry(
            key=job.key,
            job_id=job_id,
            stage=job.stage,
            loss=job.loss,
            script=str(scripts[job.key]),
            array=job.array_spec,
            dependency=dependency,
            submission=number,
        )
        ledger.record(number, scripts_dir, entry)
        submitted.append(SubmittedJob(job, scripts[job.key], dependency, job_id))
    return submitted


def active_jobs(ledger: Ledger, slurm: Slurm) -> dict[str, str]:
    """Keys of the ledger whose latest job still has a task queued or running -> its job id."""
    latest = ledger.latest_by_key()
    if not latest:
        return {}
    active_ids = {
        task.job_id.split("_")[0]
        for task in slurm.states(e.job_id for e in latest.values())
        if task.active
    }
    return {key: entry.job_id for key, entry in latest.items() if entry.job_id in active_ids}


def dependency_spec(job: Job, job_ids: Mapping[str, str]) -> str | None:
    """``afterok:12:13,afterany:14`` from the job ids (or shell variables) of its dependencies."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for dependency in job.dependencies:
        by_kind[dependency.kind].append(job_ids[dependency.key])
    return ",".join(f"{kind}:{':'.join(ids)}" for kind, ids in by_kind.items()) or None


def sbatch_commands(jobs: list[Job], scripts: Mapping[str, Path], active: Mapping[str, str]) -> str:
    """A shell script that submits ``jobs`` by hand from the scripts' folder, passing each job
    id on to the jobs that wait for it."""
    variables = _job_variables(jobs)
    lines = [
        "#!/bin/bash",
        "# The sbatch commands of `mlrc slurm submit`, in dependency order; each job id is kept",
        "# in a variable for the jobs that wait for it. The scripts lie beside this file.",
        "set -euo pipefail",
        'cd "$(dirname "$0")"',
    ]
    for job in jobs:
        dependency = dependency_spec(job, {**active, **variables})
        argv = "sbatch --parsable"
        if dependency:
            argv += f" --dependency={dependency}"
        lines.append(f"{_variable(job.key)}=$({argv} {shlex.quote(scripts[job.key].name)})")
    return "\n".join(lines) + "\n"


def _write_scripts(
    jobs: list[Job], profile: ClusterProfile, scripts_dir: Path, log_dir: Path
) -> dict[str, Path]:
    texts = {job.key: render_script(job, profile, log_dir) for job in jobs}  # may refuse a value
    scripts = {key: scripts_dir / f"{_file_name(key)}.sbatch" for key in texts}
    if texts:
        scripts_dir.mkdir(parents=True, exist_ok=True)
    for key, text in texts.items():
        scripts[key].write_text(text)
    return scripts


def _dry_run_jobs(
    jobs: list[Job], scripts: Mapping[str, Path], active: Mapping[str, str]
) -> list[SubmittedJob]:
    variables = _job_variables(jobs)
    return [
        SubmittedJob(job, scripts[job.key], dependency_spec(job, {**active, **variables}))
        for job in jobs
    ]


def _job_variables(jobs: list[Job]) -> dict[str, str]:
    """Each job's id as a shell variable of the printed commands: ``${study_mfcwms}``."""
    return {job.key: "${" + _variable(job.key) + "}" for job in jobs}


def _variable(key: str) -> str:
    return re.sub(r"\W", "_", key)


def _file_name(key: str) -> str:
    return re.sub(r"[^\w.-]", "_", key)
