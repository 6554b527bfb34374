"""Sweeps on a Slurm cluster: profiles, jobs, sbatch scripts, submission, status and cancel.

Typical use (``mlrc slurm submit`` does this)::

    profile = load_cluster_profile("slurm/profiles/example.yaml")
    submission = submit_sweep(config, ["mfcwms"], run_dir, profile, dry_run=True)
"""

from benchmark.cluster.cluster_profile import ClusterProfile, load_cluster_profile
from benchmark.cluster.job import ARRAY_TASK_ID, Dependency, Job, Resources, ShellVariable
from benchmark.cluster.ledger import Ledger, LedgerEntry
from benchmark.cluster.script import render_script
from benchmark.cluster.slurm import Slurm, TaskState
from benchmark.cluster.status import SweepStatus, cancel_sweep, format_status, sweep_status
from benchmark.cluster.submit import Submission, submit_sweep
from benchmark.cluster.sweep import SweepContext, SweepPlan, plan_sweep
from benchmark.cluster.sweep_progress import RetrainProgress, StudyProgress

__all__ = [
    "ARRAY_TASK_ID",
    "ClusterProfile",
    "Dependency",
    "Job",
    "Ledger",
    "LedgerEntry",
    "Resources",
    "RetrainProgress",
    "ShellVariable",
    "Slurm",
    "StudyProgress",
    "Submission",
    "SweepContext",
    "SweepPlan",
    "SweepStatus",
    "TaskState",
    "cancel_sweep",
    "format_status",
    "load_cluster_profile",
    "plan_sweep",
    "render_script",
    "submit_sweep",
    "sweep_status",
]
