"""Retrieval metrics of an embedding: MAP@R, P@1 and R-Precision (PML's AccuracyCalculator).

The k nearest neighbours are found on the embeddings' device: with faiss (``FaissKNN``, PML's
default) on the CPU, and on a GPU when the installed faiss has GPU support; otherwise with PML's
exact torch search (``CustomKNN``) on the same device, in blocks that bound its memory.
Both are exact searches on L2-normalised embeddings, so they agree (tested to 1e-6).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from pytorch_metric_learning.distances import LpDistance
from pytorch_metric_learning.utils import common_functions as pml_common
from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
from pytorch_metric_learning.utils.inference import CustomKNN, FaissKNN

# Our metric names -> PML's.
METRICS: dict[str, str] = {
    "map_at_r": "mean_average_precision_at_r",
    "precision_at_1": "precision_at_1",
    "r_precision": "r_precision",
}

KnnBackend = Literal["auto", "faiss", "torch"]

# The torch search holds one block of (queries x references) distances at a time.
_TORCH_KNN_BLOCK_ENTRIES = 1 << 27


class _RetrievalCalculator(AccuracyCalculator):
    """PML's AccuracyCalculator plus Recall@K for the traditional protocol: the fraction of
    queries with at least one item of their class among their K nearest references (queries
    alone in their class left out, as PML does for its metrics)."""

    def __init__(self, recall_at: Sequence[int], **kwargs: Any):
        self.recall_at = tuple(sorted(set(recall_at)))
        super().__init__(**kwargs)

    def requires_knn(self) -> list[str]:
        return [*super().requires_knn(), "recall_at_k"]

    def determine_k(
        self, bin_counts: torch.Tensor, num_reference_embeddings: int, ref_includes_query: bool
    ) -> int:
        k = super().determine_k(bin_counts, num_reference_embeddings, ref_includes_query)
        if not self.recall_at:
            return k
        return min(max(k, self.recall_at[-1]), num_reference_embeddings - int(ref_includes_query))

    def calculate_recall_at_k(self, knn_labels, query_labels, not_lone_query_mask, **kwargs):
        if not self.recall_at:
            return {}
        hits = knn_labels == query_labels[:, None]
        hits = hits[not_lone_query_mask]
        if len(hits) == 0:
            return dict.fromkeys(self.recall_at, float("nan"))
        return {k: float(hits[:, :k].any(dim=1).double().mean()) for k in self.recall_at}


def retrieval_metrics(
    query: torch.Tensor | np.ndarray,
    query_labels: torch.Tensor | np.ndarray,
    reference: torch.Tensor | np.ndarray | None = None,
    reference_labels: torch.Tensor | np.ndarray | None = None,
    *,
    device: str | torch.device | None = None,
    knn: KnnBackend = "auto",
    recall_at: Sequence[int] = (),
) -> dict[str, float]:
    """MAP@R, P@1 and R-Precision of ``query`` against ``reference``, on L2-normalised embeddings.

    Without a reference (the MLRC protocol and CUB/Cars/SOP), the query set is its own reference
    and each query is excluded from its own neighbours: ``R`` is the size of the query's class
    minus one. With a reference (In-Shop's query -> gallery), ``R`` is the number of reference
    items of the query's class. ``k`` is the largest class count, so MAP@R is exact.

    Queries whose class has no other item in the reference (``R = 0``, e.g. singleton classes)
    are left out of every average, as PML does; if every query is such, the metrics are NaN.

    Args:
        device: where the k-NN runs (default: the query's device).
        knn: ``"faiss"``, ``"torch"`` (PML's exact torch search) or ``"auto"`` (faiss when it can
            search on ``device``, else torch).
        recall_at: also Recall@K for each K (``recall_at_<K>``): a query counts when an item of
            its class is among its K nearest references.

    Returns:
        ``{"map_at_r": ..., "precision_at_1": ..., "r_precision": ...[, "recall_at_<K>": ...]}``
        as Python floats.
    """
    device = torch.device(device) if device is not None else torch.as_tensor(query).device
    query = _as_float_tensor(query, device)
    if reference is not None:
        reference = _as_float_tensor(reference, device)
    if not torch.isfinite(query).all() or (
        reference is not None and not torch.isfinite(reference).all()
    ):
        raise ValueError("embeddings contain NaN or infinite values (did training diverge?)")
    query = F.normalize(query, dim=1)
    query_labels = _as_label_tensor(query_labels, device)
    calculator = _RetrievalCalculator(
        recall_at,
        include=(*METRICS.values(), "recall_at_k"),
        k="max_bin_count",
        device=device,
        knn_func=knn_function(
            device, knn, num_references=len(query if reference is None else reference)
        ),
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
                F.normalize(reference, dim=1),
                _as_label_tensor(reference_labels, device),
                ref_includes_query=False,
            )
    finally:
        pml_logger.setLevel(previous_level)
    metrics = {ours: float(accuracies[theirs]) for ours, theirs in METRICS.items()}
    metrics.update({f"recall_at_{k}": value for k, value in accuracies["recall_at_k"].items()})
    return metrics


def knn_function(
    device: torch.device, backend: KnnBackend = "auto", num_references: int = 1
) -> FaissKNN | CustomKNN:
    """The k-NN search of :func:`retrieval_metrics` for ``device`` (see the module docstring)."""
    if backend not in ("auto", "faiss", "torch"):
        raise ValueError(f"knn must be 'auto', 'faiss' or 'torch', got {backend!r}")
    if backend == "auto":
        backend = "faiss" if faiss_searches_on(device) else "torch"
    if backend == "faiss":
        return FaissKNN()
    block = max(1, _TORCH_KNN_BLOCK_ENTRIES // max(1, num_references))
    return CustomKNN(LpDistance(normalize_embeddings=False), batch_size=block)


def faiss_searches_on(device: torch.device) -> bool:
    """True when faiss is installed and can search on ``device`` (a GPU needs faiss-gpu)."""
    try:
        import faiss
    except ImportError:
        return False
    if device.type == "cpu":
        return True
    return device.type == "cuda" and faiss.get_num_gpus() > 0


def _as_float_tensor(values: torch.Tensor | np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(values).detach().to(device, torch.float32)


def _as_label_tensor(values: torch.Tensor | np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(values).detach().to(device, torch.int64)
