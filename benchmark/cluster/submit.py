"""``mlrc slurm submit``: check, plan, write the scripts, submit them in dependency order.

A real submission checks the dataset root and the storage first (nothing is queued that would
fail on its first line), records the run's settings in ``run.json`` (as ``mlrc run`` does),
then, holding the run's submit lock (one submit at a time per run), plans what is left, cancels
jobs that can never run or are replaced, and records every job in the ledger as soon as sbatch
accepts it. A dry run makes every check that needs neither Slurm, nor the dataset, nor the
database, and only writes the scripts and the sbatch commands that would submit them
(``submit.sh``); the run directory need not exist.

Nothing written holds a storage password: the URL is recorded and passed to the jobs without it,
and the database client reads it from ``PGPASSWORD``, ``~/.pgpass`` or ``PGPASSFILE``.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.cluster.ablation_plan import AblationRequest, plan_ablation
from benchmark.cluster.cluster_profile import ClusterProfile
from benchmark.cluster.job import Job
from benchmark.cluster.ledger import Ledger, LedgerEntry
from benchmark.cluster.script import render_script
from benchmark.cluster.slurm import Slurm
from benchmark.cluster.sweep import SweepContext, SweepPlan, plan_sweep
from benchmark.config import ProtocolConfig
from benchmark.data import load_dataset
from benchmark.data.fold_feasibility import require_feasible
from benchmark.errors import ConfigError, SlurmError
from benchmark.losses import get_loss_spec
from benchmark.store.run_directory import RunDirectory
from benchmark.store.storage import open_storage, without_password
from benchmark.tracking.guarded_tracker import open_tracker
from benchmark.tracking.settings import TrackerRequest, TrackerSettings, resolve_tracker


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


@dataclass
class QueueState:
    """The run's jobs of earlier submissions that are still in Slurm's queue, by ledger key."""

    active: dict[str, str] = field(default_factory=dict)
    """Key -> job id of the latest job of each key that is queued or running and can run."""
    running: set[str] = field(default_factory=set)
    """Keys among ``active`` with a task running."""
    stuck: dict[str, str] = field(default_factory=dict)
    """Job id -> key of jobs pending on a dependency that can never be met."""


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
    slurm: Slurm | None = None,
    raise_budget: bool = False,
    tracker: TrackerRequest | None = None,
) -> Submission:
    """Submit the jobs still needed for ``losses`` (or, with ``dry_run``, only write them);
    with ``ablation``, the grid points of that ablation instead of a sweep. ``raise_budget``
    records a raised budget in ``run.json`` (as ``mlrc run --raise-budget``): the jobs, which
    read it there, search every loss further and retrain what changed. ``tracker`` (over the
    run's recorded one) is checked here and recorded in ``run.json``, where every job finds
    it."""
    slurm = slurm or Slurm()
    tracker_settings = _checked_tracker(run_dir, tracker)
    storage_url = without_password(storage_url or profile.storage)
    plugins = [_absolute(plugin) for plugin in plugins or []]
    if scripts_dir is not None and scripts_dir.exists() and not scripts_dir.is_dir():
        raise ConfigError(f"--scripts-dir {scripts_dir} is a file; give a folder")
    if dry_run:
        if ablation is None and run_dir.exists():
            run_dir.check_settings(config, raise_budget)  # what a submit refuses
        queue = queue_state(Ledger(run_dir), slurm) if slurm.available() else QueueState()
        context = SweepContext(run_dir, config, profile, storage_url, tuple(plugins))
        folder = scripts_dir or _fresh_dry_run_folder(run_dir)
        return _plan_and_write(context, losses, ablation, queue, folder, slurm, number=None)
    recorded = None if tracker_settings is None else tracker_settings.to_dict()
    _check_before_submitting(
        config, losses, run_dir, storage_url, plugins, slurm, ablation, raise_budget, recorded
    )
    ledger = Ledger(run_dir)
    with ledger.submitting() as number:
        context = SweepContext(run_dir, config, profile, storage_url, tuple(plugins))
        folder = scripts_dir or run_dir.submission_dir(number)
        queue = queue_state(ledger, slurm)
        return _plan_and_write(context, losses, ablation, queue, folder, slurm, number)


def _plan_and_write(
    context: SweepContext,
    losses: list[str],
    ablation: AblationRequest | None,
    queue: QueueState,
    scripts_dir: Path,
    slurm: Slurm,
    number: int | None,
) -> Submission:
    """Plan, write the scripts and (unless ``number`` is None: a dry run) submit them."""
    run_dir, profile = context.run_dir, context.profile
    if context.storage_url is None and run_dir.exists():
        storage = without_password(run_dir.read_manifest().get("storage"))
        context = dataclasses.replace(context, storage_url=storage)
    if ablation is None:
        plan = plan_sweep(context, losses, queue.active, queue.running)
    else:
        plan = plan_ablation(context, ablation, queue.active, queue.running)
    for job_id, key in queue.stuck.items():
        plan.replaced[job_id] = (
            f"{key}: job {job_id} waits on a dependency that can never be met; cancelled"
        )
    scripts = _write_scripts(plan.jobs, profile, scripts_dir, run_dir)
    commands = sbatch_commands(plan.jobs, scripts, queue.active, plan.replaced)
    if number is None:
        if plan.jobs or plan.replaced:
            (scripts_dir / "submit.sh").write_text(commands)
        jobs = _dry_run_jobs(plan.jobs, scripts, queue.active)
        return Submission(plan, scripts_dir, jobs, commands, True)
    if plan.replaced:
        slurm.cancel(plan.replaced)
        plan.skipped += plan.replaced.values()
    run_dir.slurm_logs_dir.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(run_dir)
    submitted = _submit_in_order(
        plan.jobs, scripts, queue.active, ledger, number, scripts_dir, profile, slurm
    )
    return Submission(plan, scripts_dir, submitted, commands, False)


def _absolute(plugin: str) -> str:
    """A plugin file as an absolute path (jobs start in any directory); a module as is."""
    return str(Path(plugin).expanduser().absolute()) if plugin.endswith(".py") else plugin


def _fresh_dry_run_folder(run_dir: RunDirectory) -> Path:
    folder = run_dir.dry_run_dir
    for stale in [*folder.glob("*.sbatch"), folder / "submit.sh"]:
        stale.unlink(missing_ok=True)  # from an earlier dry run
    return folder


def _check_before_submitting(
    config: ProtocolConfig,
    losses: list[str],
    run_dir: RunDirectory,
    storage_url: str | None,
    plugins: list[str],
    slurm: Slurm,
    ablation: AblationRequest | None,
    raise_budget: bool = False,
    tracker: dict[str, Any] | None = None,
) -> None:
    """Settings unlike the run's, a missing sbatch, a wrong dataset root, folds on which every
    trial of a loss would fail, or an unreachable database fail now, before any job is queued;
    a sweep's settings, losses (and ``tracker``) are recorded in ``run.json`` (its workers may
    then join those studies only). The storage is opened with the URL the jobs get (no password
    in it), so a job would reach it too."""
    if ablation is None:
        run_dir.check_settings(config, raise_budget)  # a refused change fails first
    if not slurm.available():
        raise SlurmError(
            "sbatch is not installed here: run `mlrc slurm submit` on a Slurm login node, or "
            "add --dry-run to only write the scripts"
        )
    index = load_dataset(config.dataset, config.data.root, config.data)
    if ablation is None:  # each grid point of an ablation is a run of its own (and settings)
        kinds = {loss: get_loss_spec(loss).images_per_class for loss in losses}
        require_feasible(index, config, kinds)
        open_storage(storage_url, run_dir.journal_path)  # an unreachable database fails here
        run_dir.initialise(
            config, plugins, storage_url, raise_budget, losses=losses, tracker=tracker
        )


def _checked_tracker(
    run_dir: RunDirectory, request: TrackerRequest | None
) -> TrackerSettings | None:
    """The sweep's tracker (the request over the recorded one); an unknown name or a missing
    library fails here, not in the jobs."""
    settings = resolve_tracker(run_dir.recorded_tracker(), request)
    if settings is not None:
        open_tracker(settings, run_dir.tracking_dir(settings.name), str(run_dir.path))
    return settings


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
    submitted: list[SubmittedJob] = []
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


def queue_state(ledger: Ledger, slurm: Slurm) -> QueueState:
    """Which jobs of the ledger are still in Slurm's queue (the latest job of each key able to
    run; any job of the run stuck on a dependency that can never be met)."""
    entries = ledger.entries()
    if not entries:
        return QueueState()
    tasks = slurm.states(e.job_id for e in entries)
    state = QueueState()
    by_id = {e.job_id: e.key for e in entries}
    for task in tasks:
        job_id = task.job_id.split("_")[0]
        if task.stuck and job_id in by_id:
            state.stuck[job_id] = by_id[job_id]
    latest = ledger.latest_by_key()
    for key, entry in latest.items():
        own = [t for t in tasks if t.job_id.split("_")[0] == entry.job_id]
        if any(t.active for t in own):
            state.active[key] = entry.job_id
        if any(t.running for t in own):
            state.running.add(key)
    return state


def dependency_spec(job: Job, job_ids: Mapping[str, str]) -> str | None:
    """``afterok:12:13,afterany:14`` from the job ids (or shell variables) of its dependencies."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for dependency in job.dependencies:
        by_kind[dependency.kind].append(job_ids[dependency.key])
    return ",".join(f"{kind}:{':'.join(ids)}" for kind, ids in by_kind.items()) or None


def sbatch_commands(
    jobs: list[Job],
    scripts: Mapping[str, Path],
    active: Mapping[str, str],
    replaced: Mapping[str, str] | None = None,
) -> str:
    """A shell script that submits ``jobs`` by hand from the scripts' folder, passing each job
    id on to the jobs that wait for it (after cancelling the ``replaced`` jobs)."""
    variables = _job_variables(jobs)
    lines = [
        "#!/bin/bash",
        "# The sbatch commands of `mlrc slurm submit`, in dependency order; each job id is kept",
        "# in a variable for the jobs that wait for it. The scripts lie beside this file.",
        "set -euo pipefail",
        'cd "$(dirname "$0")"',
    ]
    for job_id, reason in (replaced or {}).items():
        lines.append(f"scancel {shlex.quote(job_id)}  # {' '.join(reason.split())}")
    for job in jobs:
        dependency = dependency_spec(job, {**active, **variables})
        argv = "sbatch --parsable"
        if dependency:
            argv += f" --dependency={dependency}"
        lines.append(f"{_variable(job.key)}=$({argv} {shlex.quote(scripts[job.key].name)})")
    return "\n".join(lines) + "\n"


def _write_scripts(
    jobs: list[Job], profile: ClusterProfile, scripts_dir: Path, run_dir: RunDirectory
) -> dict[str, Path]:
    texts = {job.key: render_script(job, profile, run_dir) for job in jobs}  # may refuse a value
    scripts = {key: scripts_dir / f"{_file_name(key)}.sbatch" for key in texts}
    if len(set(scripts.values())) < len(scripts):
        raise ConfigError(
            "two jobs would share a script name: "
            + ", ".join(sorted(texts))
            + "; give the losses names that differ in letters, digits or _"
        )
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
