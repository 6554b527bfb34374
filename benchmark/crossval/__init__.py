"""One protocol on one dataset: the class split, the class-disjoint folds, how one fold is
trained, and the test embeddings. Trials only ever see the train+val classes."""

from benchmark._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "cross_validation": ("CrossValidation", "TrainedFold"),
        "protocol_split": ("ClassFolds", "PredefinedSplit", "build_split"),
    },
)
