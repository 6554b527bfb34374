"""Optuna studies over class-disjoint cross-validation, retraining over seeds, and results."""

from benchmark.study.budget import budget_state
from benchmark.study.pipeline import resolve_losses, run_benchmark, write_table
from benchmark.study.retrain import UNTRAINED, results_file, run_retrain, run_untrained
from benchmark.study.run_dir import RunDirectory
from benchmark.study.storage import open_storage
from benchmark.study.worker import run_worker, study_name

__all__ = [
    "UNTRAINED",
    "RunDirectory",
    "budget_state",
    "open_storage",
    "resolve_losses",
    "results_file",
    "run_benchmark",
    "run_retrain",
    "run_untrained",
    "run_worker",
    "study_name",
    "write_table",
]
