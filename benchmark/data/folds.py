"""Class-disjoint cross-validation folds over the train+val classes (MLRC's scheme)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.errors import ConfigError

FOLD_SCHEMES = ("mlrc", "even")


@dataclass(frozen=True, eq=False)
class Fold:
    """One fold: global class indices (into ``class_names``) to train on and to validate on."""

    index: int
    train_classes: np.ndarray
    val_classes: np.ndarray


def build_folds(trainval_classes: np.ndarray, n_folds: int = 4, scheme: str = "mlrc") -> list[Fold]:
    """Cut the sorted train+val classes into ``n_folds`` class-disjoint folds.

    ``"mlrc"`` reproduces MLRC's code exactly. With N classes, ``val_size = N // n_folds`` and
    ``train_size = N - val_size``; fold p starts at ``s = floor(p * N / n_folds)``, trains on the
    ``train_size`` classes at positions s, s+1, ... and validates on the next ``val_size``, both
    wrapping modulo N. For 100 classes (CUB) the validation ranges are 75-99, 0-24, 25-49, 50-74;
    for 98 (Cars196) 74-97, 0-23, 25-48, 49-72, so positions 24 and 73 are never validated (an
    MLRC quirk, kept); for 11317 (SOP) 8488-11316, 0-2828, 2829-5657, 5658-8486. Training
    classes are always the other classes of train+val.

    ``"even"`` cuts the classes into ``n_folds`` contiguous ranges of (almost) equal size that
    cover every class exactly once; like MLRC, fold 0 validates the last range and fold p > 0
    the p-th range from the start (range p - 1).
    """
    classes = np.sort(np.asarray(trainval_classes, dtype=np.int64).ravel())
    num = len(classes)
    if scheme not in FOLD_SCHEMES:
        raise ConfigError(f"data.fold_scheme {scheme!r} is not one of {list(FOLD_SCHEMES)}")
    if n_folds < 2:
        raise ConfigError(f"data.n_folds must be at least 2, got {n_folds}")
    if num < n_folds:
        raise ConfigError(
            f"{num} train+val classes cannot make {n_folds} class-disjoint folds; "
            "lower data.n_folds or use a dataset with more classes"
        )
    positions = np.arange(num)
    folds = []
    for p in range(n_folds):
        if scheme == "mlrc":
            val_size = num // n_folds
            train_size = num - val_size
            start = (p * num) // n_folds
            train = (start + np.arange(train_size)) % num
            val = (start + train_size + np.arange(val_size)) % num
        else:
            ranges = np.array_split(positions, n_folds)
            val = ranges[(p - 1) % n_folds]
            train = np.setdiff1d(positions, val)
        folds.append(
            Fold(index=p, train_classes=classes[np.sort(train)], val_classes=classes[np.sort(val)])
        )
    return folds
