"""``model.trunk: timm/<name>``: any model of the optional ``timm`` package as a trunk.

The model is built with random weights (``pretrained=False``: timm never downloads here) and
without its classifier (``num_classes=0``: the trunk gives timm's pooled features, e.g. a ViT's
class token). Its input size, mean and std come from timm's pretrained configuration of the
model (``timm.data.resolve_data_config``), its feature dimension from ``num_features``;
``model.weights: PATH`` loads a local file of its weights (a ``.safetensors`` file from the
Hugging Face hub, or a ``.pth`` state dict).
"""

from __future__ import annotations

import functools

import torch
from torch import nn

from benchmark.config import ModelConfig
from benchmark.errors import ConfigError
from benchmark.models.trunk_registry import TIMM_PREFIX, TrunkSpec, per_channel

TIMM_INSTALL = "pip install 'mlrc-benchmark[timm]' (or: pip install timm)"
"""What a user without timm runs to get it."""


class TimmTrunk(nn.Module):
    """A timm model without its classifier: images -> its pooled ``out_features`` features."""

    def __init__(self, model_name: str):
        super().__init__()
        self.network = _import_timm().create_model(model_name, pretrained=False, num_classes=0)
        self.out_features = int(self.network.num_features)

    @property
    def weights_target(self) -> nn.Module:
        """The module timm's own state dict of the model fits."""
        return self.network

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.network(images)


@functools.cache
def timm_trunk_spec(model_name: str) -> TrunkSpec:
    """The trunk of timm's model ``model_name`` (a name of ``timm.list_models()``, with or
    without a pretrained tag such as ``.augreg_in21k``)."""
    timm = _import_timm()
    if not timm.is_model(model_name):
        close = timm.list_models(f"*{model_name.split('.')[0][:8]}*")[:5]
        hint = f"; close names: {', '.join(close)}" if close else ""
        raise ConfigError(
            f"model.trunk: timm has no model '{model_name}' (timm {timm.__version__}){hint}; "
            "see timm.list_models()"
        )
    with torch.device("meta"):  # the configuration and sizes only: no memory, no weights
        network = timm.create_model(model_name, pretrained=False, num_classes=0)
    data = timm.data.resolve_data_config({}, model=network)
    pretrained = dict(network.pretrained_cfg or {})
    classifier = pretrained.get("classifier") or ()
    classifier = (classifier,) if isinstance(classifier, str) else tuple(classifier)
    return TrunkSpec(
        name=f"{TIMM_PREFIX}{model_name}",
        display=model_name,
        builder=functools.partial(_build_timm_trunk, model_name),
        input_size=int(data["input_size"][-1]),
        mean=per_channel(data["mean"]),
        std=per_channel(data["std"]),
        feature_dim=int(network.num_features),
        source="timm",
        fixed_input_size=bool(pretrained.get("fixed_input_size", False)),
        classifier_prefixes=tuple(f"{name}." for name in classifier),
    )


def _build_timm_trunk(model_name: str, config: ModelConfig) -> TimmTrunk:
    return TimmTrunk(model_name)


def timm_available() -> bool:
    """Whether the optional ``timm`` package is installed."""
    try:
        _import_timm()
    except ConfigError:
        return False
    return True


def _import_timm():
    try:
        import timm
        import timm.data
    except ImportError:
        raise ConfigError(
            f"model.trunk: {TIMM_PREFIX}<name> needs the optional timm package: {TIMM_INSTALL}"
        ) from None
    return timm
