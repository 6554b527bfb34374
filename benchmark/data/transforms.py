"""Train and eval image transforms for each trunk's input convention."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision import transforms as T
from torchvision.transforms import functional as TF

from benchmark.config import DataConfig
from benchmark.config.image_statistics import IMAGENET_MEAN, IMAGENET_STD
from benchmark.errors import ConfigError

BNINCEPTION_MEAN = (104.0, 117.0, 128.0)
"""BN-Inception (Caffe) channel means, in BGR order, on the 0-255 scale."""


class SmallImageTransform:
    """The "small" pipeline for 32-64 px images, in tensor ops (about 5x faster than PIL here).

    Train: RandomResizedCrop(size, scale) -> RandomHorizontalFlip; eval: resize to ``size``
    (a no-op for images already at that size); both map pixels to [-1, 1] (mean 0.5, std 0.5).
    Randomness comes from torch's RNG, so seeded runs are reproducible.
    """

    def __init__(
        self,
        size: int,
        train: bool,
        scale: tuple[float, float] = (0.6, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
    ):
        self.size = (size, size)
        self.train = train
        self.scale = tuple(scale)
        self.ratio = ratio

    def __call__(self, image: Image.Image | np.ndarray) -> torch.Tensor:
        pixels = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy())
        tensor = pixels.permute(2, 0, 1).float().div_(127.5).sub_(1.0)
        if self.train:
            draws = torch.rand(11, 4).tolist()  # one RNG call: 10 crop attempts + flip
            top, left, height, width = self._crop_box(
                tensor.shape[-2], tensor.shape[-1], draws[:10]
            )
            tensor = tensor[:, top : top + height, left : left + width]
            if draws[10][0] < 0.5:
                tensor = tensor.flip(-1)
        if tuple(tensor.shape[-2:]) != self.size:
            tensor = F.interpolate(
                tensor[None], size=self.size, mode="bilinear", align_corners=False, antialias=True
            )[0]
        return tensor

    def _crop_box(
        self, height: int, width: int, draws: list[list[float]]
    ) -> tuple[int, int, int, int]:
        """RandomResizedCrop's box (same distribution as torchvision's ``get_params``)."""
        area = height * width
        log_low, log_high = math.log(self.ratio[0]), math.log(self.ratio[1])
        for u_area, u_ratio, u_top, u_left in draws:
            target = area * (self.scale[0] + u_area * (self.scale[1] - self.scale[0]))
            aspect = math.exp(log_low + u_ratio * (log_high - log_low))
            w = round(math.sqrt(target * aspect))
            h = round(math.sqrt(target / aspect))
            if 0 < w <= width and 0 < h <= height:
                return int(u_top * (height - h + 1)), int(u_left * (width - w + 1)), h, w
        side = min(height, width)  # fallback: a central square crop
        return (height - side) // 2, (width - side) // 2, side, side

    def __repr__(self) -> str:
        mode = f"train, scale={self.scale}" if self.train else "eval"
        return f"{type(self).__name__}(size={self.size[0]}, {mode})"


class ToBGR255Tensor:
    """A PIL image -> a 0-255 BGR float tensor minus ``mean``, in one pass.

    Bitwise what ``ToTensor()`` followed by ``tensor.flip(0) * 255 - mean`` gives (the same
    float32 operations in the same order: divide by 255, multiply by 255, subtract the mean;
    the channel flip is done on the uint8 pixels, where it is exact), with fewer copies.
    """

    def __init__(self, mean: tuple[float, float, float] = BNINCEPTION_MEAN):
        self.mean = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)

    def __call__(self, image: Image.Image | np.ndarray) -> torch.Tensor:
        """``image``: an RGB PIL image, or its ``height x width x 3`` uint8 pixels."""
        pixels = np.asarray(image, dtype=np.uint8)[:, :, ::-1]
        tensor = torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))
        return tensor.float().div_(255).mul_(255.0).sub_(self.mean)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={tuple(self.mean.flatten().tolist())})"


class StagedTransform(T.Compose):
    """A pipeline whose first ``deterministic_steps`` transforms draw no random number.

    Their output (a PIL image) depends on the image alone, so it can be computed once and
    stored as uint8 pixels (:mod:`benchmark.data.image_cache`); applying :attr:`rest` to the
    stored pixels then gives exactly what the whole pipeline gives on the original image.
    """

    def __init__(self, transforms: list[Callable], deterministic_steps: int):
        super().__init__(transforms)
        if not 0 <= deterministic_steps <= len(transforms):
            raise ValueError(f"deterministic_steps must lie in 0..{len(transforms)}")
        self.deterministic_steps = deterministic_steps

    @property
    def first(self) -> T.Compose:
        """The deterministic first steps (PIL image -> PIL image)."""
        return T.Compose(self.transforms[: self.deterministic_steps])

    @property
    def rest(self) -> T.Compose:
        """Everything after the deterministic first steps."""
        return T.Compose(self.transforms[self.deterministic_steps :])


class PixelsRandomResizedCrop:
    """``crop`` (a RandomResizedCrop) applied to uint8 pixels instead of a PIL image.

    Bitwise what ``crop(Image.fromarray(pixels))`` gives, drawing the same random numbers: the
    box comes from ``crop.get_params`` (which reads only the image's size), the crop is a copy
    of pixels either way, and the resize is torchvision's on the cropped PIL image. Only the
    cropped region is converted to a PIL image, which saves a copy of the whole image.
    """

    def __init__(self, crop: T.RandomResizedCrop):
        self.crop = crop

    def __call__(self, pixels: np.ndarray) -> Image.Image:
        height, width = pixels.shape[:2]
        shape_only = torch.empty(1).expand(pixels.shape[2], height, width)
        top, left, h, w = self.crop.get_params(shape_only, self.crop.scale, self.crop.ratio)
        region = Image.fromarray(np.ascontiguousarray(pixels[top : top + h, left : left + w]))
        return TF.resize(
            region, self.crop.size, self.crop.interpolation, antialias=self.crop.antialias
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.crop!r})"


# Steps that take a uint8 pixel array as well as a PIL image, with the same result.
_TAKES_PIXELS = (SmallImageTransform, ToBGR255Tensor)


def pixels_transform(transform: Callable | None) -> Callable[[np.ndarray], Any]:
    """What to apply to an image cache's stored pixels: bitwise what ``transform`` applies,
    after its deterministic first steps, to the PIL image those steps made (with the fewest
    conversions: the pixels go straight to a step that takes them)."""
    rest = after_first_step(transform)
    steps = list(rest.transforms) if isinstance(rest, T.Compose) else [rest]
    if rest is None:
        return Image.fromarray
    if isinstance(steps[0], T.RandomResizedCrop):
        return T.Compose([PixelsRandomResizedCrop(steps[0]), *steps[1:]])
    if isinstance(steps[0], _TAKES_PIXELS):
        return rest
    return T.Compose([Image.fromarray, *steps])


def first_step_names(transform: Callable | None) -> list[str]:
    """The deterministic first steps of ``transform`` with every parameter (their ``repr``);
    empty for a transform that starts from the decoded original (e.g. ``"small"``)."""
    if isinstance(transform, StagedTransform):
        return [repr(step) for step in transform.first.transforms]
    return []


def after_first_step(transform: Callable | None) -> Callable | None:
    """What ``transform`` applies after its deterministic first steps."""
    return transform.rest if isinstance(transform, StagedTransform) else transform


def apply_first_step(transform: Callable | None, image: Image.Image) -> Image.Image:
    """``transform``'s deterministic first steps applied to ``image`` (the image itself when
    there are none)."""
    return transform.first(image) if isinstance(transform, StagedTransform) else image


def build_transforms(
    config: DataConfig,
    resize_before_crop: bool | None = None,
    trunk_mean_std: tuple[Sequence[float], Sequence[float]] | None = None,
) -> tuple[Callable, Callable]:
    """``(train_transform, eval_transform)`` for ``config.transform``.

    - ``"bninception"``: train Resize(resize) -> RandomResizedCrop(image_size, scale=crop_scale)
      -> RandomHorizontalFlip; eval Resize(resize) -> CenterCrop(image_size); then RGB -> BGR,
      0-255, minus (104, 117, 128), std 1 (MLRC's pipeline with 256 / 227 / (0.16, 1)).
    - ``"imagenet"``: the same geometry, then ImageNet mean/std (ResNet-50).
    - ``"trunk"``: the same geometry, then ``trunk_mean_std``: the mean and std (RGB in [0, 1])
      of the trunk's registration, which the caller reads from it (required).
    - ``"small"``: for the synthetic 32-64 px images: RandomResizedCrop(image_size,
      scale=crop_scale) -> flip; eval resize to image_size x image_size; mean 0.5, std 0.5
      (:class:`SmallImageTransform`).

    ``resize_before_crop=False`` drops the train Resize, as the traditional protocol's
    RandomResizedCrop(224) on the original image does; by default it is read from
    ``config.resize_before_crop`` when that setting exists, else True (MLRC).

    The geometric pipelines are each a :class:`StagedTransform`, whose deterministic first steps
    (train: the Resize; eval: Resize + CenterCrop) the image cache can store.
    """
    if resize_before_crop is None:
        resize_before_crop = bool(getattr(config, "resize_before_crop", True))
    flip = T.RandomHorizontalFlip()
    if config.transform == "small":
        return (
            SmallImageTransform(config.image_size, train=True, scale=config.crop_scale),
            SmallImageTransform(config.image_size, train=False),
        )
    if config.transform == "bninception":
        to_tensor = [ToBGR255Tensor()]
    elif config.transform == "imagenet":
        to_tensor = [T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    elif config.transform == "trunk":
        if trunk_mean_std is None:
            raise ConfigError(
                "data.transform: trunk needs the mean and std of model.trunk, which this "
                "command does not read; set data.transform to the trunk's own pipeline"
            )
        to_tensor = [T.ToTensor(), T.Normalize(*trunk_mean_std)]
    else:
        raise ConfigError(
            f"data.transform {config.transform!r} is not one of ['bninception', 'imagenet', "
            "'small', 'trunk']"
        )
    crop = T.RandomResizedCrop(config.image_size, scale=tuple(config.crop_scale))
    train_steps = [T.Resize(config.resize)] if resize_before_crop else []
    train = StagedTransform(
        [*train_steps, crop, flip, *to_tensor], deterministic_steps=len(train_steps)
    )
    evaluation = StagedTransform(
        [T.Resize(config.resize), T.CenterCrop(config.image_size), *to_tensor],
        deterministic_steps=2,
    )
    return train, evaluation
