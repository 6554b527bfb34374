"""The network every loss trains: a trunk followed by an embedder head."""

from __future__ import annotations

import torch
from torch import nn


class EmbeddingModel(nn.Module):
    """``images -> trunk -> embedder -> raw embeddings`` of shape ``(batch, embedding_size)``.

    The embeddings are not normalised (the losses and the evaluation normalise them). The trunk
    and the embedder are separate submodules so that each gets its own optimizer.

    Args:
        trunk: a feature extractor with an ``out_features`` attribute.
        embedder: the head mapping the trunk's output to embeddings.
        embedding_size: the embedder's output dimension.
        freeze_batchnorm: keep the trunk's BatchNorm layers in eval mode (running statistics
            frozen) even under ``model.train()``; their affine weights still train.
    """

    def __init__(
        self,
        trunk: nn.Module,
        embedder: nn.Module,
        embedding_size: int,
        freeze_batchnorm: bool = False,
    ):
        super().__init__()
        self.trunk = trunk
        self.embedder = embedder
        self.embedding_size = embedding_size
        self.freeze_batchnorm = freeze_batchnorm
        self.train()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.embedder(self.trunk(images))

    def train(self, mode: bool = True) -> EmbeddingModel:
        super().train(mode)
        if mode and self.freeze_batchnorm:
            for module in self.trunk.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self
