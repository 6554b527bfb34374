"""The ResNet-50 trunk (torchvision) without its pooling and classifier."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn


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
