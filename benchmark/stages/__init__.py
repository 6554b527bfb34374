"""The stages of a benchmark run: the untrained baseline, each loss's study and its retrain over
repeated seeds, the test stage of each repeat, and the paper's ablations::

    context = StudyContext.create(config, RunDirectory(Path("results/runs/demo")))
    run_stages(context, ["mfcwms"])    # the untrained baseline, the study, the retrain
"""

from benchmark._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "pipeline": ("resolve_losses", "run_stages"),
        "retrain": ("run_retrain",),
        "baseline": ("run_untrained",),
        "ablations": ("run_ablation",),
    },
)
