"""Which image caches a protocol uses (``data.cache_images``), and over which images.

A protocol has two pipelines: the training transform and the evaluation transform. Each one's
deterministic first steps are cached over the images that pass through it:

- ``data.split: mlrc``: training over the train+val half of the classes (every fold trains on a
  subset of it), evaluation over every image (validation folds and the test half);
- ``data.split: traditional``: training over the official train split, evaluation over its
  test (query and gallery) images.

A pipeline whose first step is random on the original image (the traditional protocol's
``RandomResizedCrop``) has nothing deterministic to store short of the full-size originals;
its images are read from the files, and :func:`cache_refusal` says why. The small synthetic
images (``data.transform: small``) are cached as decoded.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.config import DataConfig
from benchmark.data.dataset_splits import mlrc_split
from benchmark.data.image_cache import ImageCache, ensure_image_cache
from benchmark.data.index import DatasetIndex
from benchmark.data.registry import load_dataset, traditional_split
from benchmark.data.transforms import build_transforms, first_step_names

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProtocolImageCaches:
    """The caches of the training and evaluation pipelines (None: read from the files)."""

    train: ImageCache | None = None
    evaluation: ImageCache | None = None

    @property
    def size_bytes(self) -> int:
        """Bytes of pixels on disk (a cache serving both pipelines counted once)."""
        return sum(cache.size_bytes for cache in self.distinct())

    def distinct(self) -> list[ImageCache]:
        """The caches, each once (one may serve both pipelines)."""
        caches = {id(c): c for c in (self.train, self.evaluation) if c is not None}
        return list(caches.values())


def cache_refusal(data: DataConfig, transform: Callable | None) -> str | None:
    """Why ``transform``'s images are not cached although ``data.cache_images`` is on, or
    None when they are."""
    if first_step_names(transform) or data.transform == "small":
        return None
    return (
        "its first step (RandomResizedCrop, data.resize_before_crop: false, as in the "
        "traditional protocol) is random on the original image, so the only exact cache would "
        "hold the decoded full-size originals; these images are read from the files"
    )


def cached_image_ids(index: DatasetIndex, data: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """``(training ids, evaluation ids)``: the images each pipeline of the protocol reads."""
    if data.split == "traditional":
        split = traditional_split(index)
        evaluation = (
            split.query if split.gallery is None else np.union1d(split.query, split.gallery)
        )
        return np.sort(split.train), np.sort(evaluation)
    trainval = index.image_ids_of_classes(mlrc_split(index).trainval_classes)
    return trainval, np.arange(index.num_images)


def protocol_image_caches(
    index: DatasetIndex,
    data: DataConfig,
    train_transform: Callable | None,
    eval_transform: Callable | None,
    progress: bool = True,
    workers: int | None = None,
) -> ProtocolImageCaches:
    """The caches ``data.cache_images`` asks for, built where missing or invalid.

    ``workers`` decoding processes build them (default ``data.num_workers``).
    """
    if not data.cache_images:
        return ProtocolImageCaches()
    train_ids, eval_ids = cached_image_ids(index, data)
    workers = data.num_workers if workers is None else workers

    def cache(role: str, transform: Callable | None, ids: np.ndarray) -> ImageCache | None:
        refusal = cache_refusal(data, transform)
        if refusal is not None:
            _logger.warning("data.cache_images: %s images are not cached: %s", role, refusal)
            return None
        paths = [index.paths[i] for i in ids]
        return ensure_image_cache(index.name, paths, transform, data.cache_dir, workers, progress)

    evaluation = cache("evaluation", eval_transform, eval_ids)
    same_steps = first_step_names(train_transform) == first_step_names(eval_transform)
    if evaluation is not None and same_steps and np.isin(train_ids, eval_ids).all():
        return ProtocolImageCaches(evaluation, evaluation)  # one cache serves both pipelines
    return ProtocolImageCaches(cache("training", train_transform, train_ids), evaluation)


def build_protocol_caches(
    dataset: str, data: DataConfig, workers: int | None = None, progress: bool = True
) -> ProtocolImageCaches:
    """Index ``dataset`` and build every cache its protocol's pipelines can use, as
    ``data.cache_images: true`` would on first use (``mlrc data cache``).

    ``workers`` decoding processes (default: every core this process may use).
    """
    index = load_dataset(dataset, data.root, data)
    data = dataclasses.replace(data, cache_images=True)
    train_transform, eval_transform = build_transforms(data)
    workers = usable_cores() if workers is None else workers
    return protocol_image_caches(index, data, train_transform, eval_transform, progress, workers)


def usable_cores() -> int:
    """The cores this process may run on (a Slurm allocation's, not the node's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def disk_usage(directory: Path) -> int:
    """Bytes the files of ``directory`` occupy on disk."""
    return sum(path.stat().st_blocks * 512 for path in Path(directory).iterdir())
