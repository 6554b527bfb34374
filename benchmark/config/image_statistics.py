"""ImageNet's per-channel statistics: what the ImageNet pipelines normalise with and what the
trunks trained on ImageNet expect (one owner for the data and the models, which may not import
each other)."""

from __future__ import annotations

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
"""ImageNet's channel means, in RGB order, on the 0-1 scale."""
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
"""ImageNet's channel standard deviations, in RGB order, on the 0-1 scale."""
