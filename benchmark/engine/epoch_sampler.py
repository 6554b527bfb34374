"""A sampler whose order in each epoch is a pure function of ``(seed, epoch)``."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from pytorch_metric_learning.utils import common_functions as pml_common
from torch.utils.data import Sampler

from benchmark.engine.seeding import derive_seed


class _SeededEpochs(Sampler[int]):
    """``length`` indices per epoch, drawn as a pure function of ``(seed, epoch)``."""

    def __init__(self, length: int, seed: int):
        self.length = length
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length


class EpochSampler(_SeededEpochs):
    """``build_class_sampler(labels, batch_size, images_per_class, length)`` rebuilt and reseeded per epoch.

    PML's MPerClassSampler draws from PML's global NumPy RNG and shuffles its own class list in
    place, so its order depends on everything drawn before. This wrapper builds a fresh sampler
    at every epoch and seeds PML's RNG from ``(seed, epoch)`` first: a run resumed at epoch ``e``
    sees the same batches as one that never stopped. Call :meth:`set_epoch` before iterating.

    Args:
        labels: the training labels (one per item).
        batch_size: the mini-batch size.
        images_per_class: images of each class in a batch (the sampler's m).
        length: items drawn per epoch (``iterations_per_epoch * batch_size``).
        seed: the run's seed.
    """

    def __init__(
        self,
        labels: np.ndarray,
        batch_size: int,
        images_per_class: int,
        length: int,
        seed: int,
    ):
        super().__init__(length, seed)
        self.labels = np.asarray(labels)
        self.batch_size = batch_size
        self.images_per_class = images_per_class

    def __iter__(self) -> Iterator[int]:
        from benchmark.data import build_class_sampler

        sampler = build_class_sampler(
            self.labels, self.batch_size, self.images_per_class, length=self.length
        )
        pml_common.NUMPY_RANDOM.seed(derive_seed(self.seed, self.epoch, 0x5A3))
        indices = [int(i) for i in sampler]
        if len(indices) != self.length:
            raise RuntimeError(
                f"the sampler drew {len(indices)} items per epoch, expected {self.length}"
            )
        return iter(indices)


class ShuffledEpochSampler(_SeededEpochs):
    """``length`` indices of a fresh permutation of the training items per epoch, a pure function
    of ``(seed, epoch)`` (the traditional protocol's shuffled loaders, resumable exactly).

    When ``length`` exceeds the number of items, permutations follow each other.
    Call :meth:`set_epoch` before iterating.
    """

    def __init__(self, num_items: int, length: int, seed: int):
        if num_items < 1:
            raise ValueError("cannot sample from an empty training set")
        super().__init__(length, seed)
        self.num_items = num_items

    def __iter__(self) -> Iterator[int]:
        rng = np.random.default_rng(derive_seed(self.seed, self.epoch, 0x5A4))
        rounds = -(-self.length // self.num_items)
        order = np.concatenate([rng.permutation(self.num_items) for _ in range(rounds)])
        return iter(int(i) for i in order[: self.length])
