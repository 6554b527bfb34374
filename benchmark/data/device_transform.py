"""The last steps of every image pipeline, run on whole batches on the run's device.

The loader's worker processes hand over uint8 pixels (a quarter of the bytes of float32 through
their shared memory, and through the copy to a GPU); what turns pixels into the network's input
-- the conversion to float and the normalisation each trunk expects, and for the ``"small"``
pipeline the resize that follows it -- runs here, on the batch, on the device.

A normalisation is a table of the 256 values a uint8 pixel can take, per channel, computed once on
the CPU with exactly the float32 operations the pipelines applied to each image before (e.g.
``ToTensor()`` then ``Normalize``); looking pixels up in it gives bitwise those values on any
device (no device arithmetic is involved), so uint8 batches change no result.

Each :class:`DeviceTransform` owns both ends of its batches: :meth:`~DeviceTransform.collate`
(in the loader's workers, on the host) and ``__call__`` (on the device).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, Subset, default_collate

from benchmark.config.image_statistics import IMAGENET_MEAN, IMAGENET_STD

if TYPE_CHECKING:
    from benchmark.data.image_set import ImageSet

BNINCEPTION_MEAN = (104.0, 117.0, 128.0)
"""BN-Inception (Caffe) channel means, in BGR order, on the 0-255 scale."""

_PIXEL_VALUES = 256


class PixelNormalization:
    """What a network expects of an RGB uint8 pixel, channel by channel (base class).

    :meth:`compute` is the pipeline's own float32 arithmetic; on the CPU it runs as it is, and on
    any other device the pixels are looked up in a ``(3, 256)`` table of its results for every
    pixel value (computed on the CPU), so that every device gets bitwise the CPU's values (a
    GPU, for one, divides by a scalar by multiplying with its reciprocal).
    """

    name: str = ""
    source: tuple[int, int, int] = (0, 1, 2)
    """The input channel each output channel reads (``(2, 1, 0)``: RGB -> BGR)."""

    def compute(self, pixels: torch.Tensor, channel_dim: int) -> torch.Tensor:
        """The float32 input of uint8 RGB ``pixels`` (channels along ``channel_dim``), computed."""
        raise NotImplementedError

    def __call__(self, pixels: torch.Tensor, channel_dim: int) -> torch.Tensor:
        """The float32 input of uint8 RGB ``pixels`` (channels along ``channel_dim``), on their
        device."""
        if pixels.device.type == "cpu":
            return self.compute(pixels, channel_dim)
        return self.lookup(pixels, channel_dim)

    def lookup(self, pixels: torch.Tensor, channel_dim: int) -> torch.Tensor:
        """The float32 input of uint8 RGB ``pixels``, looked up in :meth:`table` (no arithmetic)."""
        table, offsets, source = self._on(pixels.device)
        if self.source != (0, 1, 2):
            pixels = pixels.index_select(channel_dim, source)
        index = pixels.int() + offsets.view(_channel_shape(pixels.dim(), channel_dim))
        return table.view(-1)[index]

    def table(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """float32 ``(3, 256)``: row ``c`` is output channel ``c`` of a pixel whose input
        channel ``source[c]`` holds the column's value."""
        return self._on(torch.device(device))[0]

    def _on(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The table, each row's offset in it and the source channels, on ``device`` (made once
        per device: no copy to the device with every batch)."""
        on_device = self.__dict__.setdefault("_on_device", {})
        if device not in on_device:
            values = torch.arange(_PIXEL_VALUES, dtype=torch.uint8).repeat(3, 1)
            table = self.compute(values, channel_dim=0)
            offsets = torch.arange(0, 3 * _PIXEL_VALUES, _PIXEL_VALUES, dtype=torch.int32)
            source = torch.tensor(self.source)
            on_device[device] = (table.to(device), offsets.to(device), source.to(device))
        return on_device[device]

    def __getstate__(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if key != "_on_device"}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _channel_shape(dims: int, channel_dim: int) -> list[int]:
    """The shape that puts 3 per-channel constants along ``channel_dim`` of ``dims`` dims."""
    shape = [1] * dims
    shape[channel_dim % dims] = 3
    return shape


class BGR255(PixelNormalization):
    """BN-Inception's input: BGR, 0-255, minus ``mean`` (BGR order), std 1 -- the float32
    operations of ``ToTensor()`` followed by ``tensor.flip(0) * 255 - mean``."""

    name = "bninception"
    source = (2, 1, 0)

    def __init__(self, mean: tuple[float, float, float] = BNINCEPTION_MEAN):
        self.mean = tuple(mean)

    def compute(self, pixels: torch.Tensor, channel_dim: int) -> torch.Tensor:
        mean = torch.tensor(self.mean, dtype=torch.float32)
        bgr = pixels.flip(channel_dim).float()
        return bgr.div_(255).mul_(255.0).sub_(mean.view(_channel_shape(pixels.dim(), channel_dim)))


class ImageNetMeanStd(PixelNormalization):
    """ResNet-50's input: RGB in [0, 1] (``ToTensor()``), then ImageNet's mean and std
    (``Normalize``); another trunk's ``mean`` and ``std`` for ``data.transform: trunk``."""

    name = "imagenet"

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD):
        self.mean, self.std = tuple(mean), tuple(std)

    def compute(self, pixels: torch.Tensor, channel_dim: int) -> torch.Tensor:
        shape = _channel_shape(pixels.dim(), channel_dim)
        mean = torch.tensor(self.mean, dtype=torch.float32).view(shape)
        std = torch.tensor(self.std, dtype=torch.float32).view(shape)
        return pixels.float().div(255).sub_(mean).div_(std)


class MinusOneToOne(PixelNormalization):
    """The small CNN's input: RGB mapped to [-1, 1] (mean 0.5, std 0.5 on the 0-1 scale)."""

    name = "small"

    def compute(self, pixels: torch.Tensor, channel_dim: int) -> torch.Tensor:
        return pixels.float().div_(127.5).sub_(1.0)


NORMALIZATIONS: dict[str, type[PixelNormalization]] = {
    "bninception": BGR255,
    "imagenet": ImageNetMeanStd,
    "small": MinusOneToOne,
}
"""``data.transform`` -> the input its network expects (the one owner of these constants)."""


class PixelCrops(NamedTuple):
    """A batch of uint8 crops of different sizes: crop ``i`` is ``pixels[i, :h, :w]`` (height x
    width x RGB) with ``(h, w) = sizes[i]``; the rest is padding."""

    pixels: torch.Tensor
    sizes: torch.Tensor


class DeviceTransform:
    """The steps of a pipeline that run on whole batches on the device (base class).

    :meth:`collate` batches the uint8 items the host-side steps made (in the loader's workers),
    :meth:`place` copies a batch to a device (``non_blocking``: a pinned batch is copied while
    the host goes on), and calling the transform turns a placed batch into the network's
    float32 input, ``(batch, 3, height, width)``, on the batch's device.
    """

    normalization: PixelNormalization

    def item_shape(self, height: int, width: int) -> tuple[int, ...]:
        """The shape of one uint8 item of ``height`` x ``width`` pixels."""
        return (3, height, width)

    def collate(self, images: Sequence[torch.Tensor]) -> Any:
        return default_collate(list(images))

    def place(self, batch: Any, device: torch.device) -> Any:
        return batch.to(device, non_blocking=True)

    def __call__(self, batch: Any) -> torch.Tensor:
        return self.finish(batch)

    def finish(self, batch: Any) -> torch.Tensor:
        raise NotImplementedError

    def one(self, image: torch.Tensor) -> torch.Tensor:
        """The float input of one item, on the host: the float path of the pipelines before
        uint8 batches (the loader profile's baseline)."""
        return self(self.collate([image]))[0]


@dataclasses.dataclass(frozen=True)
class Normalize(DeviceTransform):
    """uint8 ``(batch, 3, height, width)`` RGB -> the network's float input."""

    normalization: PixelNormalization

    def finish(self, batch: torch.Tensor) -> torch.Tensor:
        return self.normalization(batch, channel_dim=1)


@dataclasses.dataclass(frozen=True)
class NormalizeThenResize(DeviceTransform):
    """The ``"small"`` pipeline's end: each uint8 crop (height x width x RGB, any size) is
    normalised, then resized to ``size`` x ``size`` (bilinear, antialiased; skipped for a crop
    of that size already), in that order, as the pipeline always did."""

    normalization: PixelNormalization
    size: int

    def item_shape(self, height: int, width: int) -> tuple[int, ...]:
        return (height, width, 3)

    def collate(self, images: Sequence[torch.Tensor]) -> PixelCrops:
        sizes = torch.tensor([tuple(image.shape[:2]) for image in images], dtype=torch.int64)
        if all(image.shape == images[0].shape for image in images):
            return PixelCrops(default_collate(list(images)), sizes)
        height, width = (int(value) for value in sizes.max(dim=0).values)
        pixels = torch.zeros(len(images), height, width, 3, dtype=torch.uint8)
        for canvas, image in zip(pixels, images, strict=True):
            canvas[: image.shape[0], : image.shape[1]] = image
        return PixelCrops(pixels, sizes)

    def place(self, batch: PixelCrops, device: torch.device) -> PixelCrops:
        return PixelCrops(batch.pixels.to(device, non_blocking=True), batch.sizes)

    def finish(self, batch: PixelCrops) -> torch.Tensor:
        normalized = self.normalization(batch.pixels, channel_dim=-1)
        inputs = []
        for image, (height, width) in zip(normalized, batch.sizes.tolist(), strict=True):
            crop = image[:height, :width].permute(2, 0, 1)
            if (height, width) != (self.size, self.size):
                size = (self.size, self.size)
                crop = F.interpolate(
                    crop[None], size, mode="bilinear", align_corners=False, antialias=True
                )[0]
            inputs.append(crop)
        return torch.stack(inputs)


def device_transform_of(dataset: Dataset | None) -> DeviceTransform | None:
    """The device transform that finishes the items of ``dataset`` (or of the dataset a
    ``Subset`` takes them from), or None when its items are already the network's input."""
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    found = getattr(dataset, "device_transform", None)
    return found if isinstance(found, DeviceTransform) else None


class BatchCollate:
    """A loader's ``collate_fn`` for ``(image, label)`` items: the images batched by the device
    transform, the labels by torch's default (picklable, for spawned workers)."""

    def __init__(self, device_transform: DeviceTransform):
        self.device_transform = device_transform

    def __call__(self, items: Sequence[tuple[torch.Tensor, Any]]) -> tuple[Any, torch.Tensor]:
        images, labels = zip(*items, strict=True)
        return self.device_transform.collate(images), default_collate(list(labels))


def collate_fn_of(dataset: Dataset) -> Callable | None:
    """The ``collate_fn`` of a loader over ``dataset`` (None: torch's default)."""
    device_transform = device_transform_of(dataset)
    return None if device_transform is None else BatchCollate(device_transform)


class FloatOnHost(Dataset):
    """``dataset`` with its device transform applied to each item on the host (in the loader's
    workers): the float32 batches every pipeline delivered before the loaders went uint8. The
    profiler's baseline; training never uses it."""

    def __init__(self, dataset: ImageSet):
        finish = device_transform_of(dataset)
        if finish is None:
            raise ValueError("the dataset's items have no device transform to apply on the host")
        self.dataset = dataset
        self.finish = finish

    @property
    def labels(self) -> np.ndarray:
        return self.dataset.labels

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, Any]:
        image, label = self.dataset[i]
        return self.finish.one(image), label
