"""Whether a protocol's folds can work on a dataset, known before any training.

Every trial of a study trains each fold and scores it on the fold's validation classes, so a
study cannot work when

- a fold's training classes cannot fill a batch: the m-per-class sampler draws
  ``batch_size / m`` distinct classes of ``m`` images each (m by the loss's kind: 4 for pair
  losses, 1 for classification losses), and a fold with fewer classes fails every trial;
- no validation class of a fold has two images: no validation image then has another of its
  class to retrieve, so the fold's MAP@R is undefined (NaN) whatever the parameters;
- no test class has two images (the retrain's test MAP@R is undefined).

Classes with fewer than ``m`` images still train (the sampler repeats their images), and a few
single-image validation classes are only left out of the score: both are notes, not problems.
``mlrc data check --protocol P``, ``mlrc run`` and ``mlrc slurm submit`` report them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from benchmark.config import DataConfig, ProtocolConfig
from benchmark.data.dataset_splits import mlrc_split
from benchmark.data.folds import build_folds
from benchmark.data.index import DatasetIndex
from benchmark.data.registry import traditional_split
from benchmark.errors import InfeasibleStudy

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchShape:
    """The batches some losses train on: ``batch_size / images_per_class`` classes of
    ``images_per_class`` images each."""

    batch_size: int
    images_per_class: int
    losses: tuple[str, ...]

    @property
    def classes_per_batch(self) -> int:
        return self.batch_size // self.images_per_class

    def describe(self) -> str:
        images = "1 image" if self.images_per_class == 1 else f"{self.images_per_class} images"
        return f"a batch of {self.batch_size} at {images} per class ({_names(self.losses)})"


@dataclass
class Feasibility:
    """What makes every trial fail (``problems``), and what only weakens them (``notes``)."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _FoldCounts:
    """Images per class of one fold's training and validation classes."""

    index: int
    train: np.ndarray
    val: np.ndarray


def batch_shapes(
    batch_size: int, batch_sampler: str, images_per_class: Mapping[str, int]
) -> list[BatchShape]:
    """The batch shapes of the losses in ``images_per_class`` (loss -> its sampler's m); none
    for shuffled batches (``training.batch_sampler: random``), which need no class count."""
    if batch_sampler != "m_per_class":
        return []
    by_m: dict[int, list[str]] = {}
    for loss, m in images_per_class.items():
        by_m.setdefault(m, []).append(loss)
    return [BatchShape(batch_size, m, tuple(losses)) for m, losses in sorted(by_m.items())]


def check_feasibility(
    index: DatasetIndex, data: DataConfig, shapes: list[BatchShape]
) -> Feasibility:
    """The problems and notes of ``data``'s split of ``index`` for batches of ``shapes``
    (an index whose split or folds cannot be made at all is left to the caller)."""
    folds, test = _fold_counts(index, data)
    result = Feasibility()
    for shape in shapes:
        _check_batches(folds, shape, result)
    _check_validation(folds, index.name, result)
    if test is not None and len(test) and not np.any(test >= 2):
        result.problems.append(
            f"none of the {len(test)} test classes has 2 images, so the test MAP@R is "
            f"undefined (NaN); {_more_images(index.name)}"
        )
    return result


def _fold_counts(
    index: DatasetIndex, data: DataConfig
) -> tuple[list[_FoldCounts], np.ndarray | None]:
    counts = index.class_counts()
    if data.split == "traditional":
        split = traditional_split(index)
        parts = [split.query] if split.gallery is None else [split.query, split.gallery]
        train = np.bincount(index.labels[split.train], minlength=index.num_classes)
        val = np.bincount(index.labels[np.concatenate(parts)], minlength=index.num_classes)
        fold = _FoldCounts(0, train[train > 0], val[val > 0])
        return [fold], None
    split = mlrc_split(index)
    folds = build_folds(split.trainval_classes, data.n_folds, data.fold_scheme)
    return [
        _FoldCounts(f.index, counts[f.train_classes], counts[f.val_classes]) for f in folds
    ], counts[split.test_classes]


def _check_batches(folds: list[_FoldCounts], shape: BatchShape, result: Feasibility) -> None:
    classes = [int(np.sum(f.train > 0)) for f in folds]
    short = [f.index for f, n in zip(folds, classes, strict=True) if n < shape.classes_per_batch]
    if short:
        fewest = min(classes)
        worst = folds[classes.index(fewest)].index
        result.problems.append(
            f"fold {worst} trains on {fewest} classes{_also(short, worst)}, but "
            f"{shape.describe()} needs {shape.classes_per_batch} distinct classes, so every "
            f"trial fails; lower training.batch_size to at most "
            f"{fewest * shape.images_per_class}, or use a dataset with more classes"
        )
    if shape.images_per_class > 1:
        thin = [f for f in folds if np.any(f.train < shape.images_per_class)]
        if thin:
            worst_fold = max(thin, key=lambda f: int(np.sum(f.train < shape.images_per_class)))
            count = int(np.sum(worst_fold.train < shape.images_per_class))
            result.notes.append(
                f"fold {worst_fold.index}: {count} of its {len(worst_fold.train)} training "
                f"classes have fewer than {shape.images_per_class} images, so {shape.describe()} "
                "repeats their images"
            )


def _check_validation(folds: list[_FoldCounts], dataset: str, result: Feasibility) -> None:
    scored = [int(np.sum(f.val >= 2)) for f in folds]
    unscored = [f.index for f, n in zip(folds, scored, strict=True) if n == 0]
    if unscored:
        fold = next(f for f in folds if f.index == unscored[0])
        result.problems.append(
            f"fold {fold.index}: none of its {len(fold.val)} validation classes has 2 "
            f"images{_also(unscored, fold.index)}, so no validation image has another of its "
            "class to retrieve and every trial's score is undefined (NaN); " + _more_images(dataset)
        )
        return
    singles = [(f.index, int(np.sum(f.val < 2)), len(f.val)) for f in folds if np.any(f.val < 2)]
    if singles:
        fold, count, total = max(singles, key=lambda item: item[1])
        result.notes.append(
            f"fold {fold}: {count} of its {total} validation classes have a single image; "
            "they are left out of its score"
        )


def _more_images(dataset: str) -> str:
    hint = " (data.synthetic_images_per_class)" if dataset == "synthetic" else ""
    return f"give every class at least 2 images{hint}"


def _also(folds: list[int], shown: int) -> str:
    others = [str(f) for f in folds if f != shown]
    if not others:
        return ""
    return f" (fold{'s' if len(others) > 1 else ''} {', '.join(others)} too)"


def _names(losses: tuple[str, ...], shown: int = 4) -> str:
    if len(losses) <= shown:
        return ", ".join(losses)
    return f"{', '.join(losses[:shown])} and {len(losses) - shown} more"


def require_feasible(
    index: DatasetIndex, config: ProtocolConfig, images_per_class: Mapping[str, int]
) -> None:
    """Refuse, before any training, folds on which every trial of one of the losses
    (``images_per_class``: loss -> its sampler's m) would fail; log the notes as warnings."""
    training = config.training
    shapes = batch_shapes(training.batch_size, training.batch_sampler, images_per_class)
    feasibility = check_feasibility(index, config.data, shapes)
    for note in feasibility.notes:
        _logger.warning("%s", note)
    if feasibility.problems:
        first, *others = feasibility.problems
        more = f" ({len(others)} more problem(s): " if others else " ("
        raise InfeasibleStudy(
            f"{first}{more}`mlrc data check --dataset {config.dataset} --protocol "
            f"{config.name}` lists the folds; nothing was trained)"
        )
