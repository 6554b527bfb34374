"""Everything a run keeps on disk, owned here once: the run directory (every path in it), the
results file (its schema, reader and writer), the Optuna storage and journal, the keys of what
trials record, and what a run has cost.

The search and the stages write through it; ``mlrc tables``, ``mlrc status`` and the Slurm
sweep read runs only through it. Importing the package loads nothing until a name is used::

    run_dir = RunDirectory(Path("results/runs/demo-synthetic"))
    ResultsFile(run_dir).read()                    # the tidy result rows
    trials_by_study(run_dir, run_dir.attach()[1])  # every study's trials, read once
"""

from benchmark._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "run_directory": ("RunDirectory", "code_version", "default_run_dir", "params_key"),
        "results_file": ("UNTRAINED", "UNTRAINED_DISPLAY", "ResultsFile", "read_results_csv"),
        "storage": ("open_storage", "trials_by_study", "without_password"),
        "study_state": ("BudgetState", "budget_state", "study_name"),
        "run_cost": ("RunCost", "format_run_cost", "cost_of_run"),
    },
)
