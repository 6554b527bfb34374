"""What one Slurm job is, independent of which stage of a benchmark made it.

A builder (see :mod:`benchmark.cluster.sweep`) turns a piece of work into a :class:`Job`; the
renderer (:mod:`benchmark.cluster.script`) turns any job into an sbatch script. Adding a kind of
job (a traditional-protocol run, an ablation grid point) is adding a builder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class ShellVariable:
    """An argument taken from the job's environment at run time, e.g. the array task index."""

    name: str


ARRAY_TASK_ID = ShellVariable("SLURM_ARRAY_TASK_ID")

Argument = str | ShellVariable


@dataclass(frozen=True)
class Resources:
    """What one job (or one array task) asks Slurm for."""

    time: str
    cpus_per_task: int = 1
    gpus: int = 0
    mem: str | None = None
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    gpu_type: str | None = None
    gpu_request: Literal["gres", "gpus"] = "gres"
    extra_sbatch: tuple[str, ...] = ()
    """Further long options, ``--name`` or ``--name=value`` (validated by the profile)."""

    def sbatch_options(self) -> list[tuple[str, str]]:
        """``(option, value)`` pairs, e.g. ``("--gres", "gpu:a100:1")``; values unquoted."""
        named = [
            ("--partition", self.partition),
            ("--account", self.account),
            ("--qos", self.qos),
            ("--time", self.time),
            ("--cpus-per-task", str(self.cpus_per_task)),
            ("--mem", self.mem),
        ]
        options = [(option, value) for option, value in named if value is not None]
        if self.gpus:
            typed = f"{self.gpu_type}:{self.gpus}" if self.gpu_type else str(self.gpus)
            if self.gpu_request == "gres":
                options.append(("--gres", f"gpu:{typed}"))
            else:
                options.append(("--gpus", typed))
        return options


@dataclass(frozen=True)
class Dependency:
    """Start only after the job ``key`` (of this submission or a still-queued earlier one)
    ended: ``afterok`` = every task succeeded, ``afterany`` = every task ended somehow."""

    kind: Literal["afterok", "afterany"]
    key: str


@dataclass(frozen=True)
class Job:
    """One sbatch submission: ``processes`` copies of ``command`` per array task.

    Attributes:
        key: unique within a run directory (``study-mfcwms``); names the script, the ledger
            entry and the shell variable holding the job id in the printed commands.
        stage: which resources of the profile the job uses (``study``, ``retrain``, ``tables``).
        loss: the loss the job works on, if any (for ``mlrc slurm status``).
        name: the Slurm job name (``squeue`` shows it).
        description: one line saying what the job does, written at the top of its script.
        command: the argv of one process; :data:`ARRAY_TASK_ID` stands for the task index.
        processes: copies of ``command`` started side by side in each task (sharing its GPU).
        array: the array task indices; empty for a single job.
        array_throttle: at most this many tasks of the array run at once.
        dependencies: jobs that must end first.
        progress: folders where a fit finished during an attempt means the attempt made
            progress (a requeue after the time limit is then not counted against
            ``max_requeues``).
    """

    key: str
    stage: str
    loss: str | None
    name: str
    description: str
    command: tuple[Argument, ...]
    resources: Resources
    processes: int = 1
    array: tuple[int, ...] = ()
    array_throttle: int | None = None
    dependencies: tuple[Dependency, ...] = ()
    progress: tuple[Path, ...] = ()

    @property
    def array_spec(self) -> str | None:
        """The ``--array`` value: ``0-7%4``, ``0,3,5``; None for a single job."""
        if not self.array:
            return None
        spec = compress_indices(self.array)
        return f"{spec}%{self.array_throttle}" if self.array_throttle else spec


def compress_indices(indices: tuple[int, ...] | list[int]) -> str:
    """``[0, 1, 2, 5, 7, 8]`` -> ``"0-2,5,7-8"`` (Slurm's array syntax)."""
    ordered = sorted(set(indices))
    ranges: list[str] = []
    start = previous = ordered[0]
    for index in [*ordered[1:], None]:
        if index is not None and index == previous + 1:
            previous = index
            continue
        ranges.append(str(start) if start == previous else f"{start}-{previous}")
        if index is not None:
            start = previous = index
    return ",".join(ranges)
