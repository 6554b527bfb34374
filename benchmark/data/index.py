"""The dataset index: every image's path and class, read once from a dataset's own files."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.errors import ConfigError


@dataclass(frozen=True, eq=False)
class DatasetIndex:
    """Paths and labels of every image of a dataset, without opening any image.

    ``labels[i]`` is the class index (``0..num_classes-1``) of ``paths[i]`` into
    ``class_names``, which follow the dataset's own label order (CUB folder names, Cars196 and
    SOP class ids as strings, In-Shop item ids, folder names for folder-per-class data).
    ``partitions`` holds each image's official partition where the dataset defines one
    (SOP ``"train"``/``"test"``, In-Shop ``"train"``/``"query"``/``"gallery"``), else None.
    """

    name: str
    root: Path
    paths: tuple[Path, ...]
    labels: np.ndarray
    class_names: tuple[str, ...]
    partitions: np.ndarray | None = None

    def __post_init__(self) -> None:
        labels = np.asarray(self.labels, dtype=np.int64)
        object.__setattr__(self, "labels", labels)
        if labels.ndim != 1 or len(labels) != len(self.paths):
            raise ValueError(
                f"{self.name}: {len(self.paths)} paths but labels of shape {labels.shape}"
            )
        if len(labels) and (labels.min() < 0 or labels.max() >= len(self.class_names)):
            raise ValueError(f"{self.name}: labels must lie in 0..{len(self.class_names) - 1}")
        if self.partitions is not None:
            partitions = np.asarray(self.partitions, dtype=str)
            object.__setattr__(self, "partitions", partitions)
            if partitions.shape != labels.shape:
                raise ValueError(f"{self.name}: one partition per image expected")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def num_images(self) -> int:
        return len(self.paths)

    def image_ids_of_classes(
        self, classes: Iterable[int] | np.ndarray, partition: str | None = None
    ) -> np.ndarray:
        """Ids (positions in ``paths``) of the images of ``classes``, optionally of one partition."""
        classes = np.asarray(list(classes) if not isinstance(classes, np.ndarray) else classes)
        mask = np.isin(self.labels, classes.astype(np.int64))
        if partition is not None:
            mask &= self.partition_mask(partition)
        return np.flatnonzero(mask)

    def image_ids_of_partition(self, partition: str) -> np.ndarray:
        """Ids of the images of one official partition (``"train"``, ``"query"``, ...)."""
        return np.flatnonzero(self.partition_mask(partition))

    def partition_mask(self, partition: str) -> np.ndarray:
        if self.partitions is None:
            raise ConfigError(
                f"dataset '{self.name}' has no official partitions; "
                f"'{partition}' only exists for sop (train/test) and inshop (train/query/gallery)"
            )
        known = sorted(set(self.partitions.tolist()))
        if partition not in known:
            raise ConfigError(
                f"dataset '{self.name}' has no partition '{partition}'; it has {known}"
            )
        return self.partitions == partition

    def class_counts(self) -> np.ndarray:
        """Number of images of each class."""
        return np.bincount(self.labels, minlength=self.num_classes)

    def __repr__(self) -> str:
        return (
            f"DatasetIndex(name={self.name!r}, root='{self.root}', "
            f"num_images={self.num_images}, num_classes={self.num_classes})"
        )


def labels_from_keys(keys: list) -> tuple[np.ndarray, list]:
    """Map per-image class keys to class indices ``0..K-1`` in the sorted order of the keys."""
    unique = sorted(set(keys))
    position = {key: i for i, key in enumerate(unique)}
    labels = np.fromiter((position[k] for k in keys), dtype=np.int64, count=len(keys))
    return labels, unique
