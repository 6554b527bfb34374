"""The traditional (Proxy-Anchor style) head: average + max pooling, then one linear layer."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from benchmark.models.linear_embedder import embedding_activation


class PoolLinearEmbedder(nn.Module):
    """Feature map -> global average pool + global max pool (summed) -> ``Linear``.

    The linear layer starts from a kaiming-normal weight (fan-out mode) and a zero bias.

    Args:
        in_features: channels of the trunk's feature map.
        embedding_size: dimension of the embedding (512 in the traditional protocol).
        activation: ``"none"`` (the authors' code) or ``"relu"`` after the linear layer.
    """

    def __init__(
        self, in_features: int, embedding_size: int, activation: Literal["none", "relu"] = "none"
    ):
        super().__init__()
        self.linear = nn.Linear(in_features, embedding_size)
        nn.init.kaiming_normal_(self.linear.weight, mode="fan_out")
        nn.init.zeros_(self.linear.bias)
        self.activation = embedding_activation(activation)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        pooled = features.mean(dim=(2, 3)) + features.amax(dim=(2, 3))
        return self.activation(self.linear(pooled))
