"""Embedding networks: trunks (BN-Inception, ResNet-50, a small CPU CNN), heads, local weights.

>>> from benchmark.config import ModelConfig
>>> model = build_model(ModelConfig(trunk="small_cnn", weights="none"))
"""

from benchmark.models.bninception import BNInceptionTrunk
from benchmark.models.build_model import HEADS, TRUNKS, build_model
from benchmark.models.embedding_model import EmbeddingModel
from benchmark.models.linear_embedder import LinearEmbedder
from benchmark.models.pool_linear_embedder import PoolLinearEmbedder
from benchmark.models.resnet50 import ResNet50Trunk
from benchmark.models.small_cnn import SmallCNN
from benchmark.models.weights import (
    IMAGENET_WEIGHT_FILES,
    imagenet_weights_path,
    load_weights,
    resolve_weights,
)

__all__ = [
    "HEADS",
    "IMAGENET_WEIGHT_FILES",
    "TRUNKS",
    "BNInceptionTrunk",
    "EmbeddingModel",
    "LinearEmbedder",
    "PoolLinearEmbedder",
    "ResNet50Trunk",
    "SmallCNN",
    "build_model",
    "imagenet_weights_path",
    "load_weights",
    "resolve_weights",
]
