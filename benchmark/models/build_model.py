"""``build_model(config)``: the trunk, the head and the weights a ``ModelConfig`` names."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from torch import nn

from benchmark.config import ModelConfig
from benchmark.errors import ConfigError
from benchmark.models.embedding_model import EmbeddingModel
from benchmark.models.linear_embedder import LinearEmbedder
from benchmark.models.pool_linear_embedder import PoolLinearEmbedder
from benchmark.models.trunk_registry import get_trunk_spec
from benchmark.models.weights import load_weights, resolve_weights

HEADS: dict[str, Callable[[int, ModelConfig], nn.Module]] = {
    "linear": lambda in_features, config: LinearEmbedder(
        in_features, config.embedding_size, activation=config.embedder_activation
    ),
    "pool_linear": lambda in_features, config: PoolLinearEmbedder(
        in_features, config.embedding_size, activation=config.embedder_activation
    ),
}


def build_model(config: ModelConfig) -> EmbeddingModel:
    """Build the embedding network of ``config`` on the CPU.

    The trunk is the registration of ``config.trunk`` (:func:`~.trunk_registry.register_trunk`,
    or ``timm/<model>``). ``config.weights`` is ``"imagenet"`` (read from the torch hub cache,
    never downloaded), ``"none"`` (random initialisation) or a file path.

    Raises:
        WeightsNotFoundError: the weights file is missing (the message names the exact path).
        ConfigError: unknown trunk or head, or a weights file that does not fit the trunk.

    >>> import torch
    >>> model = build_model(ModelConfig(trunk="small_cnn", weights="none", embedding_size=64))
    >>> model(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 64])
    """
    spec = get_trunk_spec(config.trunk)
    if config.head not in HEADS:
        raise ConfigError(f"model.head: unknown head '{config.head}'; choose from {sorted(HEADS)}")
    if config.head == "pool_linear" and spec.source == "timm":
        raise ConfigError(
            f"model.head: pool_linear pools a feature map, and the timm trunk '{spec.name}' "
            "gives pooled features; set model.head=linear"
        )
    weights_path = resolve_weights(spec, config.weights)
    trunk = spec.builder(config)
    if weights_path is not None:
        load_weights(trunk, weights_path, ignore_prefixes=spec.classifier_prefixes)
    set_batchnorm_momentum(trunk, config.bn_momentum)
    # Every trunk declares its feature size (EmbeddingModel's contract); nn.Module hides its type.
    embedder = HEADS[config.head](cast(int, trunk.out_features), config)
    return EmbeddingModel(
        trunk, embedder, config.embedding_size, freeze_batchnorm=config.freeze_batchnorm
    )


def set_batchnorm_momentum(module: nn.Module, momentum: float) -> None:
    """Give every BatchNorm layer of ``module`` this ``momentum`` (PyTorch's convention: the
    weight of the new batch's statistics in the running ones)."""
    for layer in module.modules():
        if isinstance(layer, nn.modules.batchnorm._BatchNorm):
            layer.momentum = momentum
