"""Compositions of PML pieces that MLRC's runs used: a loss on a miner's pairs, and a loss on
L2-normalised embeddings. Each is ``module(embeddings, labels) -> scalar``, like any loss here."""

from __future__ import annotations

import torch
import torch.nn.functional as F


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
