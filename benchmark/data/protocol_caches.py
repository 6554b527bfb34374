"""Which image caches a protocol uses (``data.cache_images``), and over which images.

A protocol reads images in three roles, each through one of its two pipelines, and each role's
images are cached after that pipeline's deterministic first steps:

- ``data.split: mlrc``: *training* (the training transform) and *validation* (the evaluation
  transform) over the train+val half of the classes, every fold reading a subset of it; *test*
  (the evaluation transform) over the test half, built only when the retrain stage first asks
  for it, so that a study never reads a test image, not even to cache it;
- ``data.split: traditional``: training over the official train split, validation and test over
  its test (query and gallery) images, which the protocol early-stops on.

A role whose images and first steps another role's cache already holds reuses that cache (the
demos' decoded images serve training and validation alike). A pipeline whose first step is
random on the original image (the traditional protocol's ``RandomResizedCrop``) has nothing
deterministic to store short of the full-size originals; its images are read from the files,
and :func:`cache_refusal` says why. The small synthetic images (``data.transform: small``) are
cached as decoded.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Sequence
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

TRAINING = "training"
"""The role of the images that train (through the training transform)."""
VALIDATION = "validation"
"""The role of the images that validate or early-stop (through the evaluation transform)."""
TEST = "test"
"""The role of the test images (through the evaluation transform), cached when first needed."""
ROLES = (TRAINING, VALIDATION, TEST)


@dataclass(frozen=True)
class ProtocolImageCaches:
    """The cache of each role's images (None: read from the files, or not asked for)."""

    train: ImageCache | None = None
    validation: ImageCache | None = None
    test: ImageCache | None = None

    def of(self, role: str) -> ImageCache | None:
        return {TRAINING: self.train, VALIDATION: self.validation, TEST: self.test}[role]

    @property
    def size_bytes(self) -> int:
        """Bytes of pixels on disk (a cache serving several roles counted once)."""
        return sum(cache.size_bytes for cache in self.distinct())

    def distinct(self) -> list[ImageCache]:
        """The caches, each once (one may serve several roles)."""
        caches = {id(c): c for c in (self.train, self.validation, self.test) if c is not None}
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


def cached_roles(data: DataConfig) -> list[str]:
    """The roles (training, validation, test) whose images the protocol ``data`` reads from an
    image cache: none unless ``data.cache_images``; a role whose pipeline
    :func:`cache_refusal` refuses reads the files."""
    if not data.cache_images:
        return []
    train_transform, eval_transform = build_transforms(data)
    transforms = {TRAINING: train_transform, VALIDATION: eval_transform, TEST: eval_transform}
    return [role for role in ROLES if cache_refusal(data, transforms[role]) is None]


def cached_image_ids(index: DatasetIndex, data: DataConfig) -> dict[str, np.ndarray]:
    """The image ids each role of the protocol reads: ``{"training": ..., "validation": ...,
    "test": ...}``."""
    if data.split == "traditional":
        split = traditional_split(index)
        test = split.query if split.gallery is None else np.union1d(split.query, split.gallery)
        return {TRAINING: np.sort(split.train), VALIDATION: np.sort(test), TEST: np.sort(test)}
    halves = mlrc_split(index)
    trainval = index.image_ids_of_classes(halves.trainval_classes)
    return {
        TRAINING: trainval,
        VALIDATION: trainval,
        TEST: index.image_ids_of_classes(halves.test_classes),
    }


def protocol_image_caches(
    index: DatasetIndex,
    data: DataConfig,
    train_transform: Callable | None,
    eval_transform: Callable | None,
    progress: bool = True,
    workers: int | None = None,
    roles: Sequence[str] = ROLES,
) -> ProtocolImageCaches:
    """The caches of ``roles`` that ``data.cache_images`` asks for, built where missing or
    invalid (by ``workers`` decoding processes, default ``data.num_workers``)."""
    if not data.cache_images:
        return ProtocolImageCaches()
    ids = cached_image_ids(index, data)
    workers = data.num_workers if workers is None else workers
    built: dict[str, tuple[ImageCache, list[str], np.ndarray]] = {}
    caches: dict[str, ImageCache | None] = {}
    for role in ROLES:
        if role not in roles:
            continue
        transform = train_transform if role == TRAINING else eval_transform
        refusal = cache_refusal(data, transform)
        if refusal is not None:
            _logger.warning("data.cache_images: %s images are not cached: %s", role, refusal)
            caches[role] = None
            continue
        steps = first_step_names(transform)
        holder = next(
            (cache for cache, cached_steps, cached_ids in built.values()
             if cached_steps == steps and np.isin(ids[role], cached_ids).all()),
            None,
        )  # fmt: skip
        if holder is None:
            paths = [index.paths[i] for i in ids[role]]
            holder = ensure_image_cache(
                index.name, paths, transform, data.cache_dir, workers, progress
            )
            built[role] = (holder, steps, ids[role])
        caches[role] = holder
    return ProtocolImageCaches(caches.get(TRAINING), caches.get(VALIDATION), caches.get(TEST))


def build_protocol_caches(
    dataset: str,
    data: DataConfig,
    workers: int | None = None,
    progress: bool = True,
    trunk_mean_std: tuple[Sequence[float], Sequence[float]] | None = None,
) -> ProtocolImageCaches:
    """Index ``dataset`` and build every cache its protocol's pipelines can use, as
    ``data.cache_images: true`` would on first use (``mlrc data cache``).

    ``workers`` decoding processes (default: every core this process may use);
    ``trunk_mean_std``: the trunk's, for ``data.transform: trunk``.
    """
    index = load_dataset(dataset, data.root, data)
    data = dataclasses.replace(data, cache_images=True)
    train_transform, eval_transform = build_transforms(data, trunk_mean_std=trunk_mean_std)
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
