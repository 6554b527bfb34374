"""The MLRC embedder head: global average pooling, then one linear layer (and a ReLU, if set)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn


class LinearEmbedder(nn.Module):
    """Feature map (or pooled features) -> ``Linear(in_features, embedding_size)`` [-> ReLU].

    With ``activation="relu"`` the ReLU follows the linear layer: "a fully-connected layer with
    ReLU", as the paper's text says, whose embeddings are non-negative. (MLRC's MLP puts its ReLU
    before the linear layer instead, where BN-Inception's pooled features are already
    non-negative, the output of a ReLU: a no-op, the same network as ``"none"``.)

    Args:
        in_features: channels of the trunk's output.
        embedding_size: dimension of the embedding (128 in MLRC).
        activation: ``"none"`` as in the MLRC code, or ``"relu"`` (the paper's text).
    """

    def __init__(
        self,
        in_features: int,
        embedding_size: int,
        activation: Literal["none", "relu"] = "none",
    ):
        super().__init__()
        self.linear = nn.Linear(in_features, embedding_size)
        self.activation = embedding_activation(activation)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.dim() == 4:
            features = features.mean(dim=(2, 3))
        return self.activation(self.linear(features))


def embedding_activation(activation: str) -> nn.Module:
    """The module applied to a head's linear output: ReLU for ``"relu"``, else the identity."""
    if activation not in {"none", "relu"}:
        raise ValueError(f"activation must be 'none' or 'relu', got {activation!r}")
    return nn.ReLU() if activation == "relu" else nn.Identity()
