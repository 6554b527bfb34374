"""Optuna studies over class-disjoint cross-validation, retraining over seeds, and results.

Typical use (``mlrc run`` does this for several losses)::

    context = StudyContext.create(config, RunDirectory(Path("results/runs/demo")))
    run_worker(context, "mfcwms")     # the study, until its trial budget is met
    run_retrain(context, "mfcwms")    # the best parameters over the repeats
"""

from benchmark.study.baseline import UNTRAINED, run_untrained
from benchmark.study.budget import budget_state
from benchmark.study.context import StudyContext
from benchmark.study.factory import best_params, create_study, load_study, study_name
from benchmark.study.optimize import run_worker
from benchmark.study.pipeline import resolve_losses, run_benchmark, write_table
from benchmark.study.repeats import results_file
from benchmark.study.retrain import run_retrain
from benchmark.study.run_dir import RunDirectory
from benchmark.study.storage import open_storage

__all__ = [
    "UNTRAINED",
    "RunDirectory",
    "StudyContext",
    "best_params",
    "budget_state",
    "create_study",
    "load_study",
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
