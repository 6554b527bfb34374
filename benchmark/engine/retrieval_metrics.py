"""Retrieval metrics of an embedding: MAP@R, P@1 and R-Precision (PML's AccuracyCalculator)."""

from __future__ import annotations

import logging

import numpy as np
import torch
import torch.nn.functional as F
from pytorch_metric_learning.utils import common_functions as pml_common
from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator

# Our metric names -> PML's.
METRICS: dict[str, str] = {
    "map_at_r": "mean_average_precision_at_r",
    "precision_at_1": "precision_at_1",
    "r_precision": "r_precision",
}


def retrieval_metrics(
    query: torch.Tensor | np.ndarray,
    query_labels: torch.Tensor | np.ndarray,
    reference: torch.Tensor | np.ndarray | None = None,
    reference_labels: torch.Tensor | np.ndarray | None = None,
) -> dict[str, float]:
    """MAP@R, P@1 and R-Precision of ``query`` against ``reference``, on L2-normalised embeddings.

    Without a reference (the MLRC protocol and CUB/Cars/SOP), the query set is its own reference
    and each query is excluded from its own neighbours: ``R`` is the size of the query's class
    minus one. With a reference (In-Shop's query -> gallery), ``R`` is the number of reference
    items of the query's class. ``k`` is the largest class count, so MAP@R is exact.

    Queries whose class has no other item in the reference (``R = 0``, e.g. singleton classes)
    are left out of every average, as PML does; if every query is such, the metrics are NaN.

    Returns:
        ``{"map_at_r": ..., "precision_at_1": ..., "r_precision": ...}`` as Python floats.
    """
    query = _as_float_tensor(query)
    if not torch.isfinite(query).all() or (
        reference is not None and not torch.isfinite(_as_float_tensor(reference)).all()
    ):
        raise ValueError("embeddings contain NaN or infinite values (did training diverge?)")
    query = F.normalize(query, dim=1)
    query_labels = _as_label_tensor(query_labels)
    calculator = AccuracyCalculator(
        include=tuple(METRICS.values()), k="max_bin_count", device=torch.device("cpu")
    )
    pml_logger = pml_common.LOGGER
    previous_level = pml_logger.level
    pml_logger.setLevel(logging.ERROR)  # PML logs every k-NN call at INFO level
    try:
        if reference is None:
            accuracies = calculator.get_accuracy(query, query_labels, ref_includes_query=True)
        else:
            if reference_labels is None:
                raise ValueError("reference_labels are required with a reference")
            accuracies = calculator.get_accuracy(
                query,
                query_labels,
                F.normalize(_as_float_tensor(reference), dim=1),
                _as_label_tensor(reference_labels),
                ref_includes_query=False,
            )
    finally:
        pml_logger.setLevel(previous_level)
    return {ours: float(accuracies[theirs]) for ours, theirs in METRICS.items()}


def _as_float_tensor(values: torch.Tensor | np.ndarray) -> torch.Tensor:
    return torch.as_tensor(values).detach().to("cpu", torch.float32)


def _as_label_tensor(values: torch.Tensor | np.ndarray) -> torch.Tensor:
    return torch.as_tensor(values).detach().to("cpu", torch.int64)
