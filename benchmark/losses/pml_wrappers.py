"""Compositions of PML pieces that MLRC's runs used: a loss on a miner's pairs, a loss on
L2-normalised embeddings, and SoftTriple's regulariser as MLRC's PML version computed it. Each
loss is ``module(embeddings, labels) -> scalar``, like any loss here."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pytorch_metric_learning import regularizers as pml_regularizers
from pytorch_metric_learning.utils import common_functions as pml_common

MLRC_CENTER_DISTANCE_EPS = 1e-5
"""The constant under the square root of PML 0.9.x's center distance, sqrt(2 + eps - 2 cos)."""


class MinedLoss(torch.nn.Module):
    """A PML loss applied to the pairs a PML miner selects: ``loss(embeddings, labels)``."""

    def __init__(self, loss: torch.nn.Module, miner: torch.nn.Module):
        super().__init__()
        self.loss = loss
        self.miner = miner

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        pairs = self.miner(embeddings, labels)
        return self.loss(embeddings, labels, pairs)


class NormalizedEmbeddingsLoss(torch.nn.Module):
    """A PML loss that sees the embeddings L2-normalised, its embedding regulariser included.

    PML normalises inside its distances, but hands a regulariser the raw embeddings; the PML
    version MLRC ran (0.9.x) normalised the embeddings first, for the loss and its regulariser.
    """

    def __init__(self, loss: torch.nn.Module):
        super().__init__()
        self.loss = loss

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.loss(F.normalize(embeddings, p=2, dim=1), labels)


class ZeroWithoutPositivesLoss(torch.nn.Module):
    """A PML loss that averages over items with a positive, made 0 on a batch without any.

    PML's mean over no items is NaN (NCALoss on a batch of one image per class); a batch
    without a positive pair carries no signal for such a loss, so its value is zero.
    """

    def __init__(self, loss: torch.nn.Module):
        super().__init__()
        self.loss = loss

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if labels.unique().numel() == labels.numel():
            return embeddings.sum() * 0.0
        return self.loss(embeddings, labels)


class MLRCSparseCentersRegularizer(pml_regularizers.SparseCentersRegularizer):
    """PML's SparseCentersRegularizer as the PML version of MLRC's runs computed it.

    The mean, over the pairs of centers of one class, of their distance
    ``sqrt(2 + 1e-5 - 2 cos)``: SoftTripleLoss's built-in regulariser from its addition to PML
    (c30fd65, 2019-12-27) through v0.9.86. MLRC's code targeted PML v0.9.74-v0.9.76 while its
    results were made (powerful-benchmarker 1a17a89, 4e446e0; arXiv v1 2020-03-18). PML commit
    96256b4 (2020-06-12, released in v0.9.87) doubled the denominator
    (``2 * sum(same_class_mask)``), and today's SparseCentersRegularizer keeps that: on the same
    centers it gives half this value, so MLRC's weights (CUB 0.3754, Cars196 0.0669) and its
    search range [0, 1] would act at half strength.
    """

    def compute_loss(self, weights: torch.Tensor) -> dict:
        similarities = self.distance(weights)
        pairs = similarities[self.same_class_mask]
        distances = torch.sqrt(2.0 + MLRC_CENTER_DISTANCE_EPS - 2.0 * pairs)
        self.set_stats(similarities)
        return {
            "loss": {
                "losses": distances,
                "indices": pml_common.torch_arange_from_size(distances),
                "reduction_type": "element",
                "divisor": distances.numel(),
            }
        }
