"""Loss library: the paper's losses, its PML baselines, MLRC's other methods and newer PML losses
(all taken from PML by name), and the registry that ties them together.

>>> from benchmark.losses import build_loss
>>> loss = build_loss("mfcwms", num_classes=100, embedding_size=128, alpha=0.01, beta=80, base=0.8)
"""

# Importing a module registers its losses (in this order: the order of `mlrc losses`).
from benchmark.losses import baselines  # noqa: F401  (the paper's PML baselines)
from benchmark.losses._registry import (
    LossSpec,
    build_loss,
    get_loss_spec,
    list_losses,
    register_loss,
)
from benchmark.losses.class_wise_multi_similarity import ClassWiseMultiSimilarityLoss

# isort: split
from benchmark.losses.mean_field_contrastive import MeanFieldContrastiveLoss

# isort: split
from benchmark.losses.mean_field_class_wise_multi_similarity import (
    MeanFieldClassWiseMultiSimilarityLoss,
)

# isort: split
from benchmark.losses import mlrc_methods  # noqa: F401  (MLRC's other methods)

# isort: split
from benchmark.losses import beyond_mlrc  # noqa: F401  (PML losses MLRC never ran)

__all__ = [
    "ClassWiseMultiSimilarityLoss",
    "LossSpec",
    "MeanFieldClassWiseMultiSimilarityLoss",
    "MeanFieldContrastiveLoss",
    "build_loss",
    "get_loss_spec",
    "list_losses",
    "register_loss",
]
