"""How a protocol cuts a dataset into what trains, what early-stops and what tests.

- :class:`ClassFolds` (``data.split: mlrc``): the first half of the classes for train+val, cut
  into class-disjoint folds (MLRC's scheme); the second half for test, which no trial sees.
- :class:`PredefinedSplit` (``data.split: traditional``): the dataset's official train/test
  images (the split registered with its reader, :func:`benchmark.data.traditional_split`), one
  "fold" that trains on the train split and early-stops on the test split, as Proxy-Anchor
  style papers do (In-Shop: query -> gallery).

Both give ``folds``, ``fold_sets(fold) -> (train set, validation EvalSet)`` and ``test_set``,
reading the images through the protocol's image caches (``data.cache_images``), which are built
on first use, not when the split is made.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

import numpy as np

from benchmark.config import DataConfig
from benchmark.data.dataset_splits import mlrc_split
from benchmark.data.folds import Fold, build_folds
from benchmark.data.image_cache import ImageCache
from benchmark.data.image_set import ImageSet, image_set_for_classes, image_set_for_images
from benchmark.data.index import DatasetIndex
from benchmark.data.protocol_caches import (
    TEST,
    TRAINING,
    VALIDATION,
    ProtocolImageCaches,
    protocol_image_caches,
)
from benchmark.data.registry import traditional_split
from benchmark.engine.evaluation import EvalSet

ImageEvalSet = ImageSet | tuple[ImageSet, ImageSet]
"""An ``EvalSet`` of the split's images (whose labels are read for the test metrics)."""


class _CachedImages:
    """The image caches of a split's pipelines, built on first use."""

    def __init__(
        self,
        index: DatasetIndex,
        data: DataConfig,
        train_transform: Callable,
        eval_transform: Callable,
        progress: bool = True,
    ):
        self.index = index
        self.data = data
        self.train_transform = train_transform
        self.eval_transform = eval_transform
        self.progress = progress

    @cached_property
    def caches(self) -> ProtocolImageCaches:
        """The caches of the training and validation images (what a trial reads)."""
        return self._caches((TRAINING, VALIDATION))

    @cached_property
    def test_cache(self) -> ImageCache | None:
        """The cache of the test images, built when the test set is first asked for."""
        return self._caches((TEST,)).test

    def _caches(self, roles: tuple[str, ...]) -> ProtocolImageCaches:
        return protocol_image_caches(
            self.index,
            self.data,
            self.train_transform,
            self.eval_transform,
            self.progress,
            roles=roles,
        )


class ClassFolds(_CachedImages):
    """MLRC's class halves and class-disjoint folds of the train+val half."""

    def __init__(
        self,
        index: DatasetIndex,
        data: DataConfig,
        train_transform: Callable,
        eval_transform: Callable,
        progress: bool = True,
    ):
        super().__init__(index, data, train_transform, eval_transform, progress)
        split = mlrc_split(index)
        self.test_classes = split.test_classes
        self.folds: list[Fold] = build_folds(split.trainval_classes, data.n_folds, data.fold_scheme)
        self._fold_sets: dict[int, tuple[ImageSet, ImageSet]] = {}

    def fold_sets(self, fold: Fold) -> tuple[ImageSet, EvalSet]:
        """(train, validation) image sets of ``fold``; labels remapped to 0..C-1 in each."""
        if fold.index not in self._fold_sets:
            caches = self.caches
            train = image_set_for_classes(
                self.index, fold.train_classes, self.train_transform, image_cache=caches.train
            )
            val = image_set_for_classes(
                self.index, fold.val_classes, self.eval_transform, image_cache=caches.validation
            )
            self._fold_sets[fold.index] = (train, val)
        return self._fold_sets[fold.index]

    @cached_property
    def test_set(self) -> ImageEvalSet:
        """The test classes (used by the retrain stage only, never by a trial)."""
        return image_set_for_classes(
            self.index, self.test_classes, self.eval_transform, image_cache=self.test_cache
        )


class PredefinedSplit(_CachedImages):
    """The dataset's own train/test split: one model per repeat, early-stopped on the test set."""

    def __init__(
        self,
        index: DatasetIndex,
        data: DataConfig,
        train_transform: Callable,
        eval_transform: Callable,
        progress: bool = True,
    ):
        super().__init__(index, data, train_transform, eval_transform, progress)
        self.split = traditional_split(index)
        split = self.split
        test_images = (
            split.query if split.gallery is None else np.concatenate([split.query, split.gallery])
        )
        self.test_classes = np.unique(index.labels[test_images])
        train_classes = np.unique(index.labels[split.train])
        self.folds = [Fold(index=0, train_classes=train_classes, val_classes=self.test_classes)]

    @cached_property
    def train_set(self) -> ImageSet:
        return image_set_for_images(
            self.index, self.split.train, self.train_transform, image_cache=self.caches.train
        )

    @cached_property
    def test_set(self) -> ImageEvalSet:
        split, cache = self.split, self.test_cache
        if split.gallery is not None and self.data.inshop_query_gallery:
            query, gallery = (
                image_set_for_images(
                    self.index,
                    ids,
                    self.eval_transform,
                    image_cache=cache,
                    classes=self.test_classes,
                )
                for ids in (split.query, split.gallery)
            )
            return query, gallery
        test_images = (
            split.query if split.gallery is None else np.concatenate([split.query, split.gallery])
        )
        return image_set_for_images(self.index, test_images, self.eval_transform, image_cache=cache)

    def fold_sets(self, fold: Fold) -> tuple[ImageSet, EvalSet]:
        return self.train_set, self.test_set


def build_split(
    index: DatasetIndex,
    data: DataConfig,
    train_transform: Callable,
    eval_transform: Callable,
    progress: bool = True,
) -> ClassFolds | PredefinedSplit:
    """The split ``data.split`` names (its image caches are built when first needed)."""
    kinds: dict[str, type[ClassFolds | PredefinedSplit]]
    kinds = {"mlrc": ClassFolds, "traditional": PredefinedSplit}
    kind = kinds[data.split]
    return kind(index, data, train_transform, eval_transform, progress)
