"""``build_model(config)``: the trunk, the head and the weights a ``ModelConfig`` names."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from torch import nn

from benchmark.config import ModelConfig
from benchmark.errors import ConfigError
from benchmark.models.bninception import BNINCEPTION_CLASSIFIER_PREFIXES, BNInceptionTrunk
from benchmark.models.embedding_model import EmbeddingModel
from benchmark.models.linear_embedder import LinearEmbedder
from benchmark.models.pool_linear_embedder import PoolLinearEmbedder
from benchmark.models.resnet50 import RESNET50_CLASSIFIER_PREFIXES, ResNet50Trunk
from benchmark.models.small_cnn import SmallCNN
from benchmark.models.weights import load_weights, resolve_weights

# trunk name -> (builder, state-dict prefixes of the official file the trunk drops)
TRUNKS: dict[str, tuple[Callable[[ModelConfig], nn.Module], tuple[str, ...]]] = {
    "bninception": (lambda config: BNInceptionTrunk(), BNINCEPTION_CLASSIFIER_PREFIXES),
    "resnet50": (lambda config: ResNet50Trunk(), RESNET50_CLASSIFIER_PREFIXES),
    "small_cnn": (lambda config: SmallCNN(width=config.small_cnn_width), ()),
}

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

    ``config.weights`` is ``"imagenet"`` (read from the torch hub cache, never downloaded),
    ``"none"`` (random initialisation) or a file path.

    Raises:
        WeightsNotFoundError: the weights file is missing (the message names the exact path).
        ConfigError: unknown trunk or head, or a weights file that does not fit the trunk.

    >>> import torch
    >>> model = build_model(ModelConfig(trunk="small_cnn", weights="none", embedding_size=64))
    >>> model(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 64])
    """
    if config.trunk not in TRUNKS:
        raise ConfigError(
            f"model.trunk: unknown trunk '{config.trunk}'; choose from {sorted(TRUNKS)}"
        )
    if config.head not in HEADS:
        raise ConfigError(f"model.head: unknown head '{config.head}'; choose from {sorted(HEADS)}")
    make_trunk, classifier_prefixes = TRUNKS[config.trunk]
    weights_path = resolve_weights(config.trunk, config.weights)
    trunk = make_trunk(config)
    if weights_path is not None:
        load_weights(trunk, weights_path, ignore_prefixes=classifier_prefixes)
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
