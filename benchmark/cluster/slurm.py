"""The Slurm commands we call (sbatch, squeue, sacct, scancel), with their failures explained.

Every refusal becomes one :class:`~benchmark.errors.SlurmError` that says what to change.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from benchmark.errors import SlurmError

# States in which a job still holds or waits for resources (squeue's long names).
ACTIVE_STATES = frozenset(
    {
        "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED",
        "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED",
        "SPECIAL_EXIT", "RESV_DEL_HOLD",
    }
)  # fmt: skip

RUNNING_STATES = frozenset({"RUNNING", "COMPLETING", "CONFIGURING", "SIGNALING", "STAGE_OUT"})
NEVER_SATISFIED = "DependencyNeverSatisfied"

_TIMEOUT_S = 60

# (what sbatch says, what to tell the user)
_SBATCH_REFUSALS = [
    (
        "Invalid generic resource (gres) specification",
        "the partition has no GPUs (Slurm knows no 'gpu' resource there): set `gpus: 0` in "
        "{profile} for CPU jobs, or pick a GPU partition (`sinfo -o '%P %G'` lists their GPUs)",
    ),
    (
        "invalid partition",
        "the partition does not exist: set `partition:` in {profile} to one that `sinfo -s` lists",
    ),
    (
        "Invalid account",
        "the account cannot use this partition: set `account:` in {profile} to one of "
        "yours (`sacctmgr show associations user=$USER`)",
    ),
    (
        "Invalid qos",
        "the QOS is not allowed for you here: fix `qos:` in {profile}",
    ),
    (
        "More processors requested than permitted",
        "no node of the partition has that many CPUs: lower `cpus_per_task` in {profile}",
    ),
    (
        "Requested node configuration is not available",
        "no node of the partition has the CPUs, memory or GPUs asked for: lower `cpus_per_task`, "
        "`mem` or `gpus` in {profile}, or pick another partition",
    ),
    (
        "Requested time limit is invalid",
        "the time limit exceeds the partition's maximum: lower `time` in {profile} "
        "(`sinfo -o '%P %l'` lists each partition's limit)",
    ),
    (
        "Unable to contact slurm controller",
        "the Slurm controller does not answer: try again later or ask the cluster's admins",
    ),
]


@dataclass(frozen=True)
class TaskState:
    """One job, or one task of an array job, as Slurm reports it."""

    job_id: str
    """``1234`` or ``1234_5``."""
    state: str
    reason: str = ""

    @property
    def queued(self) -> bool:
        """Still in the queue (pending or running), whatever it waits for."""
        return self.state.split()[0] in ACTIVE_STATES

    @property
    def stuck(self) -> bool:
        """Pending on a dependency that can never be met (a cluster without
        ``kill_invalid_depend`` keeps such a job for ever)."""
        return self.queued and self.reason == NEVER_SATISFIED

    @property
    def active(self) -> bool:
        """Queued or running and able to run: not :attr:`stuck`."""
        return self.queued and not self.stuck

    @property
    def running(self) -> bool:
        return self.state.split()[0] in RUNNING_STATES


class Slurm:
    """Runs the Slurm client commands found on ``PATH``."""

    def available(self) -> bool:
        return shutil.which("sbatch") is not None

    def submit(
        self, script: Path, dependency: str | None = None, profile: Path | None = None
    ) -> str:
        """Submit ``script`` and return its job id; a refusal raises SlurmError (naming the
        ``profile`` setting to change)."""
        argv = ["sbatch", "--parsable"]
        if dependency:
            argv.append(f"--dependency={dependency}")
        result = self._run([*argv, str(script)], purpose=f"submit {script}")
        if result.returncode != 0:
            raise SlurmError(explain_sbatch_refusal(script, result.stderr, profile))
        return result.stdout.strip().split(";")[0]  # "id" or "id;cluster"

    def states(self, job_ids: Iterable[str]) -> list[TaskState]:
        """Every task of the given jobs that Slurm still remembers (``squeue -t all``)."""
        ids = sorted(set(job_ids))
        if not ids:
            return []
        argv = ["squeue", "--noheader", "--array", "--states=all", f"--jobs={','.join(ids)}"]
        result = self._run([*argv, "--format=%i|%T|%r"], purpose="ask Slurm for the job states")
        if result.returncode != 0:
            if "Invalid job id" in result.stderr:
                return []  # every job is gone from the controller's memory
            raise SlurmError(f"squeue failed: {_first_line(result.stderr)}")
        return [TaskState(*line.split("|", 2)) for line in result.stdout.splitlines() if line]

    def accounting(self, job_ids: Iterable[str]) -> list[TaskState] | None:
        """The final states from ``sacct``; None where the cluster keeps no accounting."""
        ids = sorted(set(job_ids))
        if not ids or shutil.which("sacct") is None:
            return None
        argv = ["sacct", "--noheader", "--parsable2", "--allocations", f"--jobs={','.join(ids)}"]
        result = self._run([*argv, "--format=JobID,State"], purpose="ask sacct for job states")
        if result.returncode != 0:
            return None
        return [TaskState(*line.split("|", 1)) for line in result.stdout.splitlines() if line]

    def cancel(self, job_ids: Iterable[str]) -> None:
        ids = sorted(set(job_ids))
        if not ids:
            return
        result = self._run(["scancel", *ids], purpose="cancel jobs")
        if result.returncode != 0:
            raise SlurmError(f"scancel {' '.join(ids)} failed: {_first_line(result.stderr)}")

    def _run(self, argv: list[str], purpose: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=_TIMEOUT_S)
        except FileNotFoundError:
            raise SlurmError(
                f"cannot {purpose}: `{argv[0]}` is not installed here; run mlrc slurm on a "
                "Slurm login node (or `mlrc slurm submit --dry-run` to only write the scripts)"
            ) from None
        except subprocess.TimeoutExpired:
            raise SlurmError(
                f"cannot {purpose}: `{argv[0]}` did not answer within {_TIMEOUT_S} s; "
                "the Slurm controller may be overloaded, try again later"
            ) from None


def explain_sbatch_refusal(script: Path, stderr: str, profile: Path | None = None) -> str:
    """One line: what sbatch refused, and what to change (in ``profile``)."""
    said = " ".join(line.removeprefix("sbatch: error: ") for line in stderr.strip().splitlines())
    for pattern, advice in _SBATCH_REFUSALS:
        if pattern.lower() in said.lower():
            advice = advice.format(profile=profile or "the profile")
            return f"sbatch refused {script}: {advice} (sbatch said: {said})"
    return f"sbatch refused {script}: {said or 'no reason given'}"


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else "no message"
