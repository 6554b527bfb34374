"""Torch datasets over a subset of a dataset's images, with labels remapped to 0..C-1."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch.utils.data
from PIL import Image, UnidentifiedImageError

from benchmark.data.index import DatasetIndex
from benchmark.data.transforms import first_step_names, pixels_transform
from benchmark.errors import DatasetLayoutError

if TYPE_CHECKING:
    from benchmark.data.image_cache import ImageCache


def load_image(path: str | Path) -> Image.Image:
    """Open and decode an image as RGB; a missing or corrupt file raises DatasetLayoutError."""
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except FileNotFoundError:
        raise DatasetLayoutError(
            f"image file '{path}' is missing; run `mlrc data check` to list every problem"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DatasetLayoutError(
            f"cannot read image '{path}' ({exc}); replace or remove it "
            "(`mlrc data check` lists every unreadable image)"
        ) from None


class ImageSet(torch.utils.data.Dataset):
    """Images with labels ``0..num_classes-1``; item ``i`` is ``(transform(image), label)``.

    ``class_names[c]`` names label ``c``; ``classes[c]`` is its global class index in the
    dataset and ``global_labels`` the per-image global indices, which stay comparable between
    sets that were remapped separately. ``image_ids`` are positions in the dataset's index.

    With an ``image_cache`` (built for ``transform``'s deterministic first steps, see
    :mod:`benchmark.data.image_cache`) an item is the cached pixels through the rest of the
    transform, bitwise what the whole transform makes of the image file.
    """

    def __init__(
        self,
        paths: Iterable[Path],
        labels: np.ndarray,
        class_names: Iterable[str],
        transform: Callable | None = None,
        classes: np.ndarray | None = None,
        image_ids: np.ndarray | None = None,
        image_cache: ImageCache | None = None,
    ):
        self.paths = tuple(paths)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.class_names = tuple(class_names)
        self.num_classes = len(self.class_names)
        self.transform = transform
        self.classes = (
            np.arange(self.num_classes, dtype=np.int64)
            if classes is None
            else np.asarray(classes, dtype=np.int64)
        )
        self.image_ids = None if image_ids is None else np.asarray(image_ids, dtype=np.int64)
        if len(self.labels) != len(self.paths):
            raise ValueError(f"{len(self.paths)} paths but {len(self.labels)} labels")
        self.image_cache = image_cache
        self._cache_rows: np.ndarray | None = None
        if image_cache is not None:
            if image_cache.first_steps != first_step_names(transform):
                raise ValueError(
                    f"the image cache holds images after {image_cache.first_steps}, but the "
                    f"transform starts with {first_step_names(transform)}"
                )
            self._cache_rows = image_cache.rows_of(self.paths)
            self._from_pixels = pixels_transform(transform)

    @property
    def global_labels(self) -> np.ndarray:
        return self.classes[self.labels]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[Any, int]:
        if self._cache_rows is not None and self.image_cache is not None:
            pixels = self.image_cache.pixels(int(self._cache_rows[i]))
            return self._from_pixels(pixels), int(self.labels[i])
        image = load_image(self.paths[i])
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[i])

    def __repr__(self) -> str:
        return f"ImageSet(num_images={len(self)}, num_classes={self.num_classes})"


def image_set_for_classes(
    index: DatasetIndex,
    classes: Iterable[int] | np.ndarray,
    transform: Callable | None,
    partition: str | None = None,
    image_cache: ImageCache | None = None,
) -> ImageSet:
    """All images of ``classes`` (global indices), optionally only those of one partition.

    Labels are remapped over the *requested* classes in sorted order, so two sets built from the
    same classes (e.g. In-Shop's query and gallery partitions) share one label space even when a
    class has no image in one of them.
    """
    classes = np.unique(np.asarray(list(classes), dtype=np.int64))
    _check_classes(index, classes)
    image_ids = index.image_ids_of_classes(classes, partition)
    return _image_set(index, image_ids, classes, transform, image_cache)


def image_set_for_images(
    index: DatasetIndex,
    image_ids: Iterable[int] | np.ndarray,
    transform: Callable | None,
    image_cache: ImageCache | None = None,
    classes: Iterable[int] | np.ndarray | None = None,
) -> ImageSet:
    """The images ``image_ids`` (positions in the index), in the given order.

    Labels are remapped over the classes present in these images, or over ``classes`` when
    given (pass the same ``classes`` to query and gallery sets to share their label space).
    """
    image_ids = np.asarray(list(image_ids), dtype=np.int64)
    if len(image_ids) and (image_ids.min() < 0 or image_ids.max() >= index.num_images):
        raise ValueError(f"image ids must lie in 0..{index.num_images - 1}")
    present = np.unique(index.labels[image_ids])
    if classes is None:
        classes = present
    else:
        classes = np.unique(np.asarray(list(classes), dtype=np.int64))
        _check_classes(index, classes)
        outside = np.setdiff1d(present, classes)
        if len(outside):
            raise ValueError(f"images of classes {outside[:5].tolist()} not in `classes`")
    return _image_set(index, image_ids, classes, transform, image_cache)


def _image_set(
    index: DatasetIndex,
    image_ids: np.ndarray,
    classes: np.ndarray,
    transform: Callable | None,
    image_cache: ImageCache | None,
) -> ImageSet:
    labels = np.searchsorted(classes, index.labels[image_ids])
    return ImageSet(
        paths=[index.paths[i] for i in image_ids],
        labels=labels,
        class_names=[index.class_names[c] for c in classes],
        transform=transform,
        classes=classes,
        image_ids=image_ids,
        image_cache=image_cache,
    )


def _check_classes(index: DatasetIndex, classes: np.ndarray) -> None:
    if len(classes) and (classes.min() < 0 or classes.max() >= index.num_classes):
        raise ValueError(f"class indices must lie in 0..{index.num_classes - 1}")
