"""The MLRC embedder head: global average pooling, then one linear layer."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn


class LinearEmbedder(nn.Module):
    """Feature map (or pooled features) -> [ReLU ->] ``Linear(in_features, embedding_size)``.

    With ``activation="relu"`` the ReLU comes before the linear layer, as in MLRC's MLP with
    ``final_relu`` (after it, it would make every embedding non-negative).

    Args:
        in_features: channels of the trunk's output.
        embedding_size: dimension of the embedding (128 in MLRC).
        activation: ``"none"`` as in the MLRC code, or ``"relu"`` (the paper's text: "a
            fully-connected layer with ReLU").
    """

    def __init__(
        self,
        in_features: int,
        embedding_size: int,
        activation: Literal["none", "relu"] = "none",
    ):
        super().__init__()
        if activation not in {"none", "relu"}:
            raise ValueError(f"activation must be 'none' or 'relu', got {activation!r}")
        self.linear = nn.Linear(in_features, embedding_size)
        self.activation = nn.ReLU() if activation == "relu" else nn.Identity()

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.dim() == 4:
            features = features.mean(dim=(2, 3))
        return self.linear(self.activation(features))
