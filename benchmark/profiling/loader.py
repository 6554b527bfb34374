"""Images/s of the training data loader alone: JPEG decoding plus the train augmentation, or
the image cache's stored pixels plus what follows its deterministic first step.

The loader is the training loader itself (:func:`~benchmark.engine.train_loader.build_train_loader`:
the protocol's batch sampler, ``drop_last``, ``num_workers`` worker processes, page-locked batches
when the run device pins them) over every image of a dataset index with the protocol's train
transform. Without an image cache every image is decoded from its file each time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import cast

import numpy as np

from benchmark.config import DataConfig, TrainingConfig
from benchmark.data import DatasetIndex, ImageCache, build_transforms, image_set_for_classes
from benchmark.engine.epoch_sampler import EpochSampler, ShuffledEpochSampler
from benchmark.engine.train_loader import build_train_loader


@dataclass(frozen=True)
class LoaderMeasurement:
    """Batches delivered by the loader in a timed window after its warm-up."""

    num_workers: int
    batch_size: int
    batches: int
    window_s: float
    cached: bool = False
    """Read from the image cache (else every image decoded from its file)."""

    @property
    def images_per_s(self) -> float:
        return self.batches * self.batch_size / self.window_s

    @property
    def processes(self) -> int:
        """Processes that decode and transform: the worker processes, or the main one."""
        return max(self.num_workers, 1)

    def images_per_s_per_core(self, cores: int) -> float:
        """The rate per core busy loading: per process, or per core when the processes
        outnumber the ``cores`` this machine gives them."""
        return self.images_per_s / min(self.processes, max(cores, 1))

    def pooled(self, other: LoaderMeasurement) -> LoaderMeasurement:
        """Both windows as one measurement (batches and seconds added)."""
        return LoaderMeasurement(
            self.num_workers,
            self.batch_size,
            self.batches + other.batches,
            self.window_s + other.window_s,
            self.cached,
        )


def warmup_batches(num_workers: int) -> int:
    """Batches left out before the window opens: the start-up of the worker processes and the
    batches they prefetched meanwhile (up to two each) would flatter or slow the rate."""
    return 2 * num_workers + 1


def measure_loader(
    index: DatasetIndex,
    data_config: DataConfig,
    training: TrainingConfig,
    images_per_class: int,
    num_workers: int,
    batches: int,
    pin_memory: bool = False,
    seed: int = 0,
    image_cache: ImageCache | None = None,
) -> LoaderMeasurement:
    """Iterate a training loader over ``index`` and time ``batches`` batches after its warm-up.

    The window runs from the arrival of the last warm-up batch to the arrival of the last
    batch, so ``batches`` whole batches are produced inside it. With ``image_cache`` (built for
    the protocol's train transform) the images come from the cache.
    """
    train_transform, _ = build_transforms(data_config)
    image_set = image_set_for_classes(
        index, np.arange(index.num_classes), train_transform, image_cache=image_cache
    )
    skipped = warmup_batches(num_workers)
    batch_size = training.batch_size
    loader = build_train_loader(
        image_set,
        training,
        images_per_class,
        seed=seed,
        num_workers=num_workers,
        pin_memory=pin_memory,
        length=(skipped + batches) * batch_size,
    )
    cast(EpochSampler | ShuffledEpochSampler, loader.sampler).set_epoch(1)
    arrivals = [time.perf_counter() for _ in loader]
    delivered = len(arrivals) - skipped
    if delivered != batches:
        raise RuntimeError(
            f"the loader delivered {len(arrivals)} batches, expected {skipped + batches}"
        )
    window = arrivals[-1] - arrivals[skipped - 1]
    return LoaderMeasurement(num_workers, batch_size, batches, window, image_cache is not None)
