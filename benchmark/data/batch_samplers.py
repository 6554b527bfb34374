"""Mini-batch samplers: m images per class (PML's MPerClassSampler)."""

from __future__ import annotations

import numpy as np
from pytorch_metric_learning.samplers import MPerClassSampler

from benchmark.errors import ConfigError, DatasetLayoutError


class ClassBalancedSampler(MPerClassSampler):
    """PML's :class:`MPerClassSampler` whose epochs depend only on the numpy RNG state.

    Every ``batch_size // m`` consecutive indices hold ``m`` images of each of ``batch_size // m``
    distinct classes (with replacement within a class that has fewer than ``m`` images).
    PML draws from ``pytorch_metric_learning.utils.common_functions.NUMPY_RANDOM``, which is the
    global ``numpy.random`` module unless reassigned, so ``numpy.random.seed(s)`` before an
    epoch fixes that epoch's batches. PML also shuffles its class list in place, which would make
    an epoch depend on all earlier ones; this subclass restores the sorted class order before
    every epoch, so a run resumed from a checkpoint and re-seeded draws the same batches.
    """

    def __iter__(self):
        self.labels: list = sorted(self.labels)  # PML's class list, shuffled by each epoch
        return super().__iter__()


def build_class_sampler(
    labels: np.ndarray, batch_size: int, images_per_class: int, length: int | None = None
) -> ClassBalancedSampler:
    """A sampler of ``batch_size // images_per_class`` classes x ``images_per_class`` images.

    ``images_per_class`` is 4 for pair-based losses (8 classes x 4 in a batch of 32) and 1 for
    classification-based ones (32 classes x 1). ``length`` is the number of indices per epoch
    (use ``iterations_per_epoch * batch_size``); it is rounded down to whole batches and
    defaults to the number of images rounded down to whole batches (at least one batch). Use
    the sampler with ``DataLoader(..., batch_size=batch_size, sampler=sampler, drop_last=True)``.

    Randomness: the global ``numpy.random`` state (see :class:`ClassBalancedSampler`); seed it
    with ``numpy.random.seed`` before each epoch for reproducible batches.
    """
    labels = np.asarray(labels, dtype=np.int64).ravel()
    if images_per_class < 1:
        raise ConfigError(f"images per class must be >= 1, got {images_per_class}")
    if batch_size < 1 or batch_size % images_per_class:
        raise ConfigError(
            f"training.batch_size {batch_size} must be a positive multiple of the "
            f"{images_per_class} images per class the loss's sampler draws"
        )
    classes_per_batch = batch_size // images_per_class
    num_classes = len(np.unique(labels))
    if num_classes < classes_per_batch:
        raise DatasetLayoutError(
            f"the training split has {num_classes} classes but a batch of {batch_size} with "
            f"{images_per_class} image(s) per class needs {classes_per_batch} distinct classes; "
            "lower training.batch_size or use more training classes"
        )
    if length is None:
        length = max(batch_size, len(labels) - len(labels) % batch_size)
    if length < batch_size:
        raise ConfigError(f"sampler length {length} is shorter than one batch ({batch_size})")
    return ClassBalancedSampler(
        labels, m=images_per_class, batch_size=batch_size, length_before_new_iter=int(length)
    )
