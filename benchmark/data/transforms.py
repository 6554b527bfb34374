"""Train and eval image transforms for each trunk's input convention."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torchvision import transforms as T

from benchmark.config import DataConfig
from benchmark.errors import ConfigError

BNINCEPTION_MEAN = (104.0, 117.0, 128.0)
"""BN-Inception (Caffe) channel means, in BGR order, on the 0-255 scale."""
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SMALL_CROP_SCALE = (0.6, 1.0)


class ToBGR255:
    """A 0-1 RGB tensor -> a 0-255 BGR tensor minus ``mean`` (BN-Inception's input convention)."""

    def __init__(self, mean: tuple[float, float, float] = BNINCEPTION_MEAN):
        self.mean = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)

    def __call__(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor.flip(0) * 255.0 - self.mean

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={tuple(self.mean.flatten().tolist())})"


def build_transforms(
    config: DataConfig, resize_before_crop: bool | None = None
) -> tuple[Callable, Callable]:
    """``(train_transform, eval_transform)`` for ``config.transform``.

    - ``"bninception"``: train Resize(resize) -> RandomResizedCrop(image_size, scale=crop_scale)
      -> RandomHorizontalFlip; eval Resize(resize) -> CenterCrop(image_size); then RGB -> BGR,
      0-255, minus (104, 117, 128), std 1 (MLRC's pipeline with 256 / 227 / (0.16, 1)).
    - ``"imagenet"``: the same geometry, then ImageNet mean/std (ResNet-50).
    - ``"small"``: for the synthetic 32-64 px images: RandomResizedCrop(image_size,
      scale=(0.6, 1)) -> flip; eval Resize to image_size x image_size; mean 0.5, std 0.5.

    ``resize_before_crop=False`` drops the train Resize, as the traditional protocol's
    RandomResizedCrop(224) on the original image does; by default it is read from
    ``config.resize_before_crop`` when that setting exists, else True (MLRC).
    """
    if resize_before_crop is None:
        resize_before_crop = bool(getattr(config, "resize_before_crop", True))
    flip = T.RandomHorizontalFlip()
    if config.transform == "small":
        size = (config.image_size, config.image_size)
        normalize = T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
        train = T.Compose(
            [T.RandomResizedCrop(size, scale=SMALL_CROP_SCALE), flip, T.ToTensor(), normalize]
        )
        return train, T.Compose([T.Resize(size), T.ToTensor(), normalize])
    if config.transform == "bninception":
        normalize = ToBGR255()
    elif config.transform == "imagenet":
        normalize = T.Normalize(IMAGENET_MEAN, IMAGENET_STD)
    else:
        raise ConfigError(
            f"data.transform {config.transform!r} is not one of ['bninception', 'imagenet', "
            "'small']"
        )
    crop = T.RandomResizedCrop(config.image_size, scale=tuple(config.crop_scale))
    train_steps = [T.Resize(config.resize)] if resize_before_crop else []
    train = T.Compose([*train_steps, crop, flip, T.ToTensor(), normalize])
    evaluation = T.Compose(
        [T.Resize(config.resize), T.CenterCrop(config.image_size), T.ToTensor(), normalize]
    )
    return train, evaluation
