"""The train/test splits of a dataset: MLRC's class halves, and the official split's shape.

A dataset's official split (the one the traditional protocol uses) is registered with its
reader (:func:`benchmark.data.register_dataset`); :func:`class_halves_split` is the default.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.data.index import DatasetIndex
from benchmark.errors import DatasetLayoutError


@dataclass(frozen=True, eq=False)
class ClassSplit:
    """Class indices (into ``DatasetIndex.class_names``) of the train+val and test halves."""

    trainval_classes: np.ndarray
    test_classes: np.ndarray


@dataclass(frozen=True, eq=False)
class TraditionalSplit:
    """Image ids of the predefined training set and of the test query and gallery sets.

    ``gallery`` is None when the query set is its own reference set (CUB, Cars196, SOP, and any
    folder data); In-Shop evaluates ``query`` against a separate ``gallery``.
    """

    train: np.ndarray
    query: np.ndarray
    gallery: np.ndarray | None = None


def mlrc_split(index: DatasetIndex) -> ClassSplit:
    """First half of the classes (sorted by label) for train+val, second half for test.

    CUB 100/100 (classes 1-100 / 101-200), Cars196 98/98 (1-98 / 99-196), SOP 11317/11317
    (class ids 1-11317 / 11318-22634: MLRC moves class 11318 from the official training file
    to the test half; we keep MLRC's version). In-Shop is split the same way over its sorted
    item ids (3991/3991), ignoring the query/gallery partitions. With an odd number of classes
    the test half gets the extra class.
    """
    num_classes = index.num_classes
    if num_classes < 2:
        raise DatasetLayoutError(
            f"{index.name} at '{index.root}' has {num_classes} class(es); a class-disjoint "
            "split needs at least 2"
        )
    half = num_classes // 2
    return ClassSplit(
        trainval_classes=np.arange(half, dtype=np.int64),
        test_classes=np.arange(half, num_classes, dtype=np.int64),
    )


def class_halves_split(index: DatasetIndex) -> TraditionalSplit:
    """Train on the first half of the classes, test on the second (the query set is its own
    gallery): CUB's official split (classes 0-99 / 100-199) and Cars196's (0-97 / 98-195), and
    the default of datasets without one of their own (folder, synthetic, plugins).
    """
    split = mlrc_split(index)
    return TraditionalSplit(
        train=index.image_ids_of_classes(split.trainval_classes),
        query=index.image_ids_of_classes(split.test_classes),
    )
