"""Optuna studies over class-disjoint cross-validation, retraining over seeds, and results.

Typical use (``mlrc run`` does this for several losses)::

    context = StudyContext.create(config, RunDirectory(Path("results/runs/demo")))
    run_stages(context, ["mfcwms"])    # the untrained baseline, the study, the retrain
    ResultsFile(context.run_dir).read()  # the tidy result rows
"""

from benchmark.study.baseline import run_untrained
from benchmark.study.budget import budget_state
from benchmark.study.context import StudyContext
from benchmark.study.factory import best_params, create_study, load_study, study_name
from benchmark.study.optimize import run_worker
from benchmark.study.pipeline import resolve_losses, run_stages
from benchmark.study.results import UNTRAINED, UNTRAINED_DISPLAY, ResultsFile
from benchmark.study.retrain import run_retrain
from benchmark.study.run_dir import RunDirectory, default_run_dir
from benchmark.study.storage import open_storage

__all__ = [
    "UNTRAINED",
    "UNTRAINED_DISPLAY",
    "ResultsFile",
    "RunDirectory",
    "StudyContext",
    "best_params",
    "budget_state",
    "create_study",
    "default_run_dir",
    "load_study",
    "open_storage",
    "resolve_losses",
    "run_retrain",
    "run_stages",
    "run_untrained",
    "run_worker",
    "study_name",
]
