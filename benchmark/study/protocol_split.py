"""How a protocol cuts a dataset into what trains, what early-stops and what tests.

- :class:`ClassFolds` (``data.split: mlrc``): the first half of the classes for train+val, cut
  into class-disjoint folds (MLRC's scheme); the second half for test, which no trial sees.
- :class:`PredefinedSplit` (``data.split: traditional``): the dataset's official train/test
  images (the split registered with its reader, :func:`benchmark.data.traditional_split`), one
  "fold" that trains on the train split and early-stops on the test split, as Proxy-Anchor
  style papers do (In-Shop: query -> gallery).

Both give ``folds``, ``fold_sets(fold) -> (train set, validation EvalSet)`` and ``test_set``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

import numpy as np

from benchmark.config import DataConfig
from benchmark.data import (
    DatasetIndex,
    Fold,
    ImageSet,
    build_folds,
    image_set_for_classes,
    image_set_for_images,
    mlrc_split,
    traditional_split,
)
from benchmark.engine import EvalSet


class ClassFolds:
    """MLRC's class halves and class-disjoint folds of the train+val half."""

    def __init__(
        self,
        index: DatasetIndex,
        data: DataConfig,
        train_transform: Callable,
        eval_transform: Callable,
    ):
        self.index = index
        self.data = data
        self.train_transform = train_transform
        self.eval_transform = eval_transform
        split = mlrc_split(index)
        self.test_classes = split.test_classes
        self.folds: list[Fold] = build_folds(split.trainval_classes, data.n_folds, data.fold_scheme)
        self._fold_sets: dict[int, tuple[ImageSet, ImageSet]] = {}

    def fold_sets(self, fold: Fold) -> tuple[ImageSet, EvalSet]:
        """(train, validation) image sets of ``fold``; labels remapped to 0..C-1 in each."""
        if fold.index not in self._fold_sets:
            cache = self.data.cache_images
            train = image_set_for_classes(
                self.index, fold.train_classes, self.train_transform, cache_images=cache
            )
            val = image_set_for_classes(
                self.index, fold.val_classes, self.eval_transform, cache_images=cache
            )
            self._fold_sets[fold.index] = (train, val)
        return self._fold_sets[fold.index]

    @cached_property
    def test_set(self) -> EvalSet:
        """The test classes (used by the retrain stage only, never by a trial)."""
        return image_set_for_classes(
            self.index, self.test_classes, self.eval_transform, cache_images=self.data.cache_images
        )


class PredefinedSplit:
    """The dataset's own train/test split: one model per repeat, early-stopped on the test set."""

    def __init__(
        self,
        index: DatasetIndex,
        data: DataConfig,
        train_transform: Callable,
        eval_transform: Callable,
    ):
        split = traditional_split(index)
        cache = data.cache_images
        self.train_set = image_set_for_images(
            index, split.train, train_transform, cache_images=cache
        )
        test_images = (
            split.query if split.gallery is None else np.concatenate([split.query, split.gallery])
        )
        test_classes = np.unique(index.labels[test_images])
        if split.gallery is not None and data.inshop_query_gallery:
            self.test_set: EvalSet = tuple(
                image_set_for_images(
                    index, ids, eval_transform, cache_images=cache, classes=test_classes
                )
                for ids in (split.query, split.gallery)
            )
        else:
            self.test_set = image_set_for_images(
                index, test_images, eval_transform, cache_images=cache
            )
        self.folds = [Fold(index=0, train_classes=self.train_set.classes, val_classes=test_classes)]

    def fold_sets(self, fold: Fold) -> tuple[ImageSet, EvalSet]:
        return self.train_set, self.test_set


def build_split(
    index: DatasetIndex, data: DataConfig, train_transform: Callable, eval_transform: Callable
) -> ClassFolds | PredefinedSplit:
    """The split ``data.split`` names."""
    kind = {"mlrc": ClassFolds, "traditional": PredefinedSplit}[data.split]
    return kind(index, data, train_transform, eval_transform)
