"""Loss library: the paper's losses, the PML baselines, and the registry that ties them together.

>>> from benchmark.losses import build_loss
>>> loss = build_loss("mfcwms", num_classes=100, embedding_size=128, alpha=0.01, beta=80, base=0.8)
"""

from benchmark.losses import baselines  # noqa: F401  (registers the PML baselines)
from benchmark.losses._registry import (
    LossSpec,
    build_loss,
    get_loss_spec,
    list_losses,
    register_loss,
    registry_restored,
)
from benchmark.losses.class_wise_multi_similarity import ClassWiseMultiSimilarityLoss
from benchmark.losses.mean_field_contrastive import MeanFieldContrastiveLoss
from benchmark.losses.mean_field_cwms import MeanFieldClassWiseMultiSimilarityLoss

__all__ = [
    "ClassWiseMultiSimilarityLoss",
    "LossSpec",
    "MeanFieldClassWiseMultiSimilarityLoss",
    "MeanFieldContrastiveLoss",
    "build_loss",
    "get_loss_spec",
    "list_losses",
    "register_loss",
    "registry_restored",
]
