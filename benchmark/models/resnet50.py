"""The ResNet-50 trunk (torchvision) without its pooling and classifier."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from benchmark.config import ModelConfig
from benchmark.config.image_statistics import IMAGENET_MEAN, IMAGENET_STD
from benchmark.models.trunk_registry import register_trunk


class ResNet50Trunk(nn.Sequential):
    """ResNet-50 feature extractor: images -> a 2048-channel feature map (7 x 7 at 224 px).

    The submodule names are torchvision's (``conv1``, ``layer1``, ...), so the official ImageNet
    state dict loads as is once its classifier (``fc.``) is dropped.
    """

    out_features = 2048

    def __init__(self):
        from torchvision.models import resnet50  # imported here: slow, and only this trunk needs it

        network = resnet50(weights=None)  # architecture only: never downloads
        super().__init__(
            OrderedDict(
                (name, child)
                for name, child in network.named_children()
                if name not in {"avgpool", "fc"}
            )
        )


# Keys of the official state dict that this trunk does not have (the removed classifier).
RESNET50_CLASSIFIER_PREFIXES = ("fc.",)


@register_trunk(
    "resnet50",
    display="ResNet-50",
    input_size=224,
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    feature_dim=ResNet50Trunk.out_features,
    classifier_prefixes=RESNET50_CLASSIFIER_PREFIXES,
    # torchvision.models.ResNet50_Weights.IMAGENET1K_V1.url
    imagenet_weights="resnet50-0676ba61.pth",
)
def build_resnet50(config: ModelConfig) -> ResNet50Trunk:
    """torchvision's ResNet-50, 2048-d features."""
    return ResNet50Trunk()
