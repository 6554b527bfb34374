"""Embedding networks: trunks (a registry: BN-Inception, ResNet-50, a small CPU CNN, any timm
model), heads, local weights.

>>> from benchmark.config import ModelConfig
>>> model = build_model(ModelConfig(trunk="small_cnn", weights="none"))
"""

from benchmark.models.bninception import BNInceptionTrunk
from benchmark.models.build_model import HEADS, build_model
from benchmark.models.embedding_model import EmbeddingModel
from benchmark.models.linear_embedder import LinearEmbedder
from benchmark.models.pool_linear_embedder import PoolLinearEmbedder
from benchmark.models.resnet50 import ResNet50Trunk
from benchmark.models.small_cnn import SmallCNN
from benchmark.models.trunk_registry import (
    TrunkSpec,
    get_trunk_spec,
    list_trunks,
    register_trunk,
)
from benchmark.models.weights import (
    imagenet_weights_path,
    load_weights,
    resolve_weights,
)

__all__ = [
    "HEADS",
    "BNInceptionTrunk",
    "EmbeddingModel",
    "LinearEmbedder",
    "PoolLinearEmbedder",
    "ResNet50Trunk",
    "SmallCNN",
    "TrunkSpec",
    "build_model",
    "get_trunk_spec",
    "imagenet_weights_path",
    "list_trunks",
    "load_weights",
    "register_trunk",
    "resolve_weights",
]
