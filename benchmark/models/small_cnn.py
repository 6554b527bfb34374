"""A small, fast CNN trunk for 32-64 px images, so that whole studies run on a laptop CPU."""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn

from benchmark.config import ModelConfig
from benchmark.models.trunk_registry import register_trunk


class SmallCNN(nn.Module):
    """Conv-BN-ReLU blocks, each halving the resolution: images -> a ``4 * width`` channel map.

    Args:
        width: channels of the first block; the next blocks have ``2 * width`` and ``4 * width``.
        in_channels: image channels.
    """

    def __init__(self, width: int = 32, in_channels: int = 3):
        super().__init__()
        channels = [in_channels, width, 2 * width, 4 * width]
        self.blocks = nn.Sequential(
            *[_conv_bn_relu(c_in, c_out) for c_in, c_out in pairwise(channels)]
        )
        self.out_features = channels[-1]
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.blocks(images)


def _conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


@register_trunk(
    "small_cnn",
    display="small CNN",
    input_size=32,
    mean=(0.5, 0.5, 0.5),
    std=(0.5, 0.5, 0.5),
    feature_dim=4 * ModelConfig.small_cnn_width,
)
def build_small_cnn(config: ModelConfig) -> SmallCNN:
    """Three conv blocks for the synthetic 32-64 px images (CPU demo); 4 x width features."""
    return SmallCNN(width=config.small_cnn_width)
