"""The BN-Inception trunk of MLRC (``pretrainedmodels.bninception``) without its classifier."""

from __future__ import annotations

import torch
from torch import nn

from benchmark.config import ModelConfig
from benchmark.models.trunk_registry import register_trunk


class BNInceptionTrunk(nn.Module):
    """BN-Inception feature extractor: images -> a 1024-channel feature map.

    At 227 px input the map is 7 x 7; the embedder head pools it globally. Inputs follow the
    network's convention: BGR, pixel range 0-255, mean (104, 117, 128) subtracted.
    """

    out_features = 1024

    def __init__(self):
        super().__init__()
        import pretrainedmodels  # imported here: it is slow to import and only this trunk needs it

        # pretrained=None builds the architecture only; weights come from a local file.
        network = pretrainedmodels.bninception(pretrained=None)
        network.global_pool = nn.Identity()
        network.last_linear = nn.Identity()
        self.network = network

    @property
    def weights_target(self) -> nn.Module:
        """The module the official state dict (``bn_inception-52deb4733.pth``) fits."""
        return self.network

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.network.features(images)


# Keys of the official state dict that this trunk does not have (the removed classifier).
BNINCEPTION_CLASSIFIER_PREFIXES = ("last_linear.",)


@register_trunk(
    "bninception",
    display="BN-Inception",
    input_size=227,
    # Caffe's BGR 0-255 minus (104, 117, 128), std 1, written for RGB pixels in [0, 1].
    mean=(128 / 255, 117 / 255, 104 / 255),
    std=(1 / 255, 1 / 255, 1 / 255),
    feature_dim=BNInceptionTrunk.out_features,
    classifier_prefixes=BNINCEPTION_CLASSIFIER_PREFIXES,
    # pretrainedmodels.pretrained_settings["bninception"]["imagenet"]["url"]
    imagenet_weights="bn_inception-52deb4733.pth",
)
def build_bninception(config: ModelConfig) -> BNInceptionTrunk:
    """MLRC's trunk: pretrainedmodels' BN-Inception, 1024-d features."""
    return BNInceptionTrunk()
