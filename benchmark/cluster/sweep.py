"""The jobs of a benchmark sweep: what is left to do, as Slurm jobs with dependencies.

Per loss, a study array (each task runs ``workers_per_gpu`` ``mlrc worker`` processes until the
trial budget is met, or until nothing is left for them to start) and a retrain array over the
repeats missing from ``results.csv``; one array for the untrained baseline; one tables job after
every retrain. Finished studies and repeats submit nothing, and neither does a stage whose job
of an earlier submission is still queued or running.

Every dependency is ``afterany``: a retrain starts once its study's tasks have all ended, however
they ended, and checks the study itself (``mlrc retrain`` refuses a study short of its budget).
A crashed task thus never strands the stages after it: they run, say what is missing, and the
next submit completes the sweep. There is never more than one tables job waiting: a new one
replaces one still pending.
With ``data.cache_images`` on a dataset of photographs, one CPU job builds the image caches first
(``mlrc data cache``); the training jobs wait for it ``afterany`` too (one that finds no cache
builds it itself).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from benchmark.cluster.cluster_profile import ClusterProfile
from benchmark.cluster.job import ARRAY_TASK_ID, Argument, Dependency, Job, compress_indices
from benchmark.cluster.sweep_progress import (
    RetrainProgress,
    StudyProgress,
    read_retrain_progress,
    read_study_progress,
)
from benchmark.config import ProtocolConfig
from benchmark.store.results_file import UNTRAINED
from benchmark.store.run_directory import RunDirectory
from benchmark.store.storage import trials_by_study


@dataclass
class SweepPlan:
    """The jobs to submit, in dependency order, and why other work submits nothing."""

    jobs: list[Job] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    replaced: dict[str, str] = field(default_factory=dict)
    """Job ids of earlier submissions to cancel before submitting, with the reason."""


@dataclass(frozen=True)
class SweepContext:
    """What every builder needs: where the run lives and how its jobs are run."""

    run_dir: RunDirectory
    config: ProtocolConfig
    profile: ClusterProfile
    storage_url: str | None
    plugins: tuple[str, ...] = ()
    """``--plugin`` files or modules, given to every job (files as absolute paths)."""

    def mlrc(self, *args: Argument) -> tuple[Argument, ...]:
        """An ``mlrc`` command line (the profile's command, the plugins, then ``args``)."""
        plugins = [arg for plugin in self.plugins for arg in ("--plugin", plugin)]
        return (*self.profile.mlrc, *plugins, *args)

    def attached(self, command: str, loss: str, *args: Argument) -> tuple[Argument, ...]:
        """``mlrc COMMAND`` attached to one loss of this run and its storage, started cold."""
        storage = ("--storage", self.storage_url) if self.storage_url else ()
        run_dir = str(self.run_dir.path)
        return self.mlrc(
            command, "--run-dir", run_dir, "--loss", loss, *args, *storage, "--no-progress"
        )

    def job_name(self, key: str) -> str:
        return f"{self.run_dir.path.name}.{key}"


def plan_sweep(
    context: SweepContext,
    losses: list[str],
    active: Mapping[str, str],
    running: Collection[str] = (),
) -> SweepPlan:
    """The jobs still needed for ``losses``; ``active`` maps the keys of jobs from earlier
    submissions that are still queued or running to their Slurm job ids, ``running`` names
    those of them with a task already running."""
    run_dir, config = context.run_dir, context.config
    trials = trials_by_study(run_dir, context.storage_url)
    studies = read_study_progress(config, losses, trials)
    retrains = read_retrain_progress(run_dir, config, [*losses, UNTRAINED])
    plan = SweepPlan()
    queued = list(active)  # keys of the jobs that will be in the queue, in submission order

    def add(job: Job) -> None:
        plan.jobs.append(job)
        queued.append(job.key)

    def still_queued(key: str, what: str) -> bool:
        if key in active:
            plan.skipped.append(
                f"{what}: job {active[key]} is still queued or running; not submitted again"
            )
        return key in active

    *loss_retrains, untrained = retrains
    for study, retrain in zip(studies, loss_retrains, strict=True):
        study_key = f"study-{study.loss}"
        if not config.study.searches:
            source = config.study.params_source
            plan.skipped.append(f"study {study.loss}: nothing to search (parameters: {source})")
        elif study.done:
            plan.skipped.append(
                f"study {study.loss}: finished ({study.finished}/{study.n_trials} trials)"
            )
        elif not still_queued(study_key, f"study {study.loss}"):
            add(study_job(context, study))
        retrain_key = f"retrain-{retrain.loss}"
        if not retrain.remaining:
            plan.skipped.append(
                f"retrain {retrain.loss}: {_all_repeats(retrain.repeats)} in results.csv"
            )
        elif not still_queued(retrain_key, f"retrain {retrain.loss}"):
            after_study = study_key if study_key in queued else None
            add(retrain_job(context, retrain, after_study))

    if not untrained.remaining:
        plan.skipped.append(f"untrained baseline: {_all_repeats(untrained.repeats)} in results.csv")
    elif not still_queued(f"retrain-{UNTRAINED}", "untrained baseline"):
        add(retrain_job(context, untrained, after_study=None))

    _build_image_caches_first(context, plan, active)
    new_retrains = [job.key for job in plan.jobs if job.stage == "retrain"]
    if new_retrains:
        retrain_keys = [key for key in queued if key.startswith("retrain-")]
        add_tables_job(plan, context, retrain_keys, active, running)
    elif not still_queued("tables", "tables"):
        command = f"mlrc tables {run_dir.path} --out {run_dir.tables_dir}"
        plan.skipped.append(f"tables: no retrain left to wait for; write them with `{command}`")
    return plan


def add_tables_job(
    plan: SweepPlan,
    context: SweepContext,
    after: list[str],
    active: Mapping[str, str],
    running: Collection[str],
    what: str = "every retrain",
) -> None:
    """Add the tables job after ``after``; a tables job of an earlier submission that is still
    pending is cancelled (the new one waits for its jobs too), so only one ever waits."""
    if "tables" in active and "tables" not in running:
        plan.replaced[active["tables"]] = (
            f"tables: job {active['tables']} (still pending) is replaced by one that also waits "
            "for the new jobs"
        )
    plan.jobs.append(tables_job(context, after, what))


CACHE_KEY = "cache"


def _build_image_caches_first(
    context: SweepContext, plan: SweepPlan, active: Mapping[str, str]
) -> None:
    """Put the image-cache job before the training jobs of ``plan`` and make them wait for it.

    Only for photographs (``data.transform`` not ``small``): the synthetic data's decoded images
    are cached in a second by the first job that needs them. A valid cache makes the job end at
    once; the training jobs would build a missing one themselves, all at the same time.
    """
    from benchmark.data.protocol_caches import cached_roles  # torchvision: only when planning

    data = context.config.data
    training = [job for job in plan.jobs if job.stage in ("study", "retrain")]
    if data.transform == "small" or not training or not cached_roles(data):
        return
    if CACHE_KEY not in active:
        plan.jobs.insert(0, cache_job(context))
    wait = Dependency("afterany", CACHE_KEY)
    plan.jobs[:] = [
        dataclasses.replace(job, dependencies=(wait, *job.dependencies)) if job in training else job
        for job in plan.jobs
    ]


def cache_job(context: SweepContext) -> Job:
    """``mlrc data cache`` of the run's protocol: the image caches every training reads."""
    return Job(
        key=CACHE_KEY,
        stage="cache",
        loss=None,
        name=context.job_name(CACHE_KEY),
        description="build the image caches of the run (data.cache_images) before any training",
        command=context.mlrc(
            "data", "cache", "--run-dir", str(context.run_dir.path), "--no-progress"
        ),
        resources=context.profile.resources("cache"),
    )


def study_job(context: SweepContext, study: StudyProgress) -> Job:
    """An array of workers sized to the trials left: each task runs ``workers_per_gpu``
    workers; the array never exceeds ``max_workers`` tasks."""
    profile = context.profile
    workers = profile.workers_per_gpu
    tasks = min(math.ceil(study.remaining / workers), profile.max_workers)
    per_task = f"{workers} workers" if workers > 1 else "1 worker"
    return Job(
        key=f"study-{study.loss}",
        stage="study",
        loss=study.loss,
        name=context.job_name(f"study-{study.loss}"),
        description=(
            f"Optuna study of {study.loss}: {tasks} array tasks x {per_task} run the "
            f"{study.remaining} trials left of {study.n_trials}"
        ),
        command=context.attached("worker", study.loss),
        resources=profile.resources("study"),
        processes=workers,
        array=tuple(range(tasks)),
        array_throttle=profile.array_throttle,
        progress=(context.run_dir.trials_dir(study.loss),),
    )


def retrain_job(context: SweepContext, retrain: RetrainProgress, after_study: str | None) -> Job:
    """One array task per repeat missing from ``results.csv`` (4 fold trainings + test each),
    after every task of its study has ended (``mlrc retrain`` checks the study is complete)."""
    untrained = retrain.loss == UNTRAINED
    what = "the untrained baseline" if untrained else f"the best {retrain.loss}"
    run_dir = context.run_dir
    return Job(
        key=f"retrain-{retrain.loss}",
        stage="retrain",
        loss=retrain.loss,
        name=context.job_name(f"retrain-{retrain.loss}"),
        description=(
            f"retrain {what} over repeats {compress_indices(retrain.remaining)} "
            f"of {retrain.repeats} (one array task per repeat)"
        ),
        command=context.attached("retrain", retrain.loss, "--repeat", ARRAY_TASK_ID),
        resources=context.profile.resources("retrain"),
        array=tuple(retrain.remaining),
        array_throttle=context.profile.array_throttle,
        dependencies=(Dependency("afterany", after_study),) if after_study else (),
        progress=(run_dir.untrained_dir if untrained else run_dir.retrain_dir(retrain.loss),),
    )


def tables_job(context: SweepContext, after: list[str], what: str = "every retrain") -> Job:
    """The tables and figures (in ``<run_dir>/tables/``), once the jobs ``after`` have ended."""
    run_dir = str(context.run_dir.path)
    return Job(
        key="tables",
        stage="tables",
        loss=None,
        name=context.job_name("tables"),
        description=f"the tables and figures of the run, after {what}",
        command=context.mlrc("tables", run_dir, "--out", str(context.run_dir.tables_dir)),
        resources=context.profile.resources("tables"),
        dependencies=tuple(Dependency("afterany", key) for key in after),
    )


def _all_repeats(count: int) -> str:
    return "its one repeat is" if count == 1 else f"all {count} repeats are"
