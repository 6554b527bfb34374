"""The Optuna search of one loss's hyperparameters: every trial is a class-disjoint
cross-validation scored by its mean validation MAP@R.

It holds the worker's trial loop, the study's sampler (TPE, or MLRC's Sobol + GP) and pruner,
the budget shared by any number of workers, and the parameters that are not searched (a
protocol's defaults or a published configuration)::

    context = StudyContext.create(config, RunDirectory(Path("results/runs/demo")))
    run_worker(context, "mfcwms")              # trials until the budget is met
    best_params(load_study(context, "mfcwms"))
"""

from benchmark._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "context": ("StudyContext",),
        "worker": ("run_worker",),
        "study_factory": ("best_params", "create_study", "load_study"),
        "fixed_params": ("fixed_params",),
    },
)
