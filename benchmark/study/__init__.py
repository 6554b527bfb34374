"""Optuna studies over class-disjoint cross-validation, retraining over seeds, and results."""

from benchmark.study.pipeline import resolve_losses, run_benchmark, write_table
from benchmark.study.retrain import run_retrain, run_untrained
from benchmark.study.run_dir import RunDirectory
from benchmark.study.worker import run_worker

__all__ = [
    "RunDirectory",
    "resolve_losses",
    "run_benchmark",
    "run_retrain",
    "run_untrained",
    "run_worker",
    "write_table",
]
