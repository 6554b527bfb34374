"""Images/s of the training data loader alone: JPEG decoding plus the train augmentation, or
the image cache's stored pixels plus what follows its deterministic first step.

The loader is the training loader itself (:func:`~benchmark.engine.train_loader.build_train_loader`:
the protocol's batch sampler, ``drop_last``, ``num_workers`` worker processes, page-locked batches
when the run device pins them) over every image of a dataset index with the protocol's train
transform. Without an image cache every image is decoded from its file each time.

Its workers hand over uint8 batches, which the device finishes. The named baseline
:data:`FLOAT_ON_HOST` measures the same pipeline with that last stage run in the workers on each
image, which hands over float32 batches: the loader as it was before uint8 batches.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch

from benchmark.config import DataConfig, ProtocolConfig, TrainingConfig
from benchmark.data import (
    DatasetIndex,
    ImageCache,
    build_transforms,
    cache_refusal,
    ensure_image_cache,
    image_set_for_classes,
)
from benchmark.data.device_transform import FloatOnHost
from benchmark.data.image_set import ImageSet
from benchmark.data.worker_processes import stop_signals_deferred
from benchmark.engine.epoch_sampler import EpochSampler, ShuffledEpochSampler
from benchmark.engine.train_loader import build_train_loader
from benchmark.progress import Progress

UINT8 = "uint8"
"""Batches of uint8 pixels, finished on the device (what training uses)."""
FLOAT_ON_HOST = "float_on_host"
"""The baseline: every image finished to float32 in the loader's workers (before uint8 batches)."""


@dataclass(frozen=True)
class LoaderMeasurement:
    """Batches delivered by the loader in a timed window after its warm-up."""

    num_workers: int
    batch_size: int
    batches: int
    window_s: float
    cached: bool = False
    """Read from the image cache (else every image decoded from its file)."""
    batch: str = UINT8
    """What a batch holds: :data:`UINT8` pixels or the :data:`FLOAT_ON_HOST` baseline."""
    batch_bytes: int = 0
    """Bytes of one batch's tensors (images and labels): what passes through the shared memory
    between a worker process and the training process."""

    @property
    def images_per_s(self) -> float:
        return self.batches * self.batch_size / self.window_s

    @property
    def processes(self) -> int:
        """Processes that decode and transform: the worker processes, or the main one."""
        return max(self.num_workers, 1)

    @property
    def baseline(self) -> bool:
        return self.batch == FLOAT_ON_HOST

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
            self.batch,
            self.batch_bytes,
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
    batch: str = UINT8,
) -> LoaderMeasurement:
    """Iterate a training loader over ``index`` and time ``batches`` batches after its warm-up.

    The window runs from the arrival of the last warm-up batch to the arrival of the last
    batch, so ``batches`` whole batches are produced inside it. With ``image_cache`` (built for
    the protocol's train transform) the images come from the cache; ``batch`` chooses uint8
    batches or the :data:`FLOAT_ON_HOST` baseline.
    """
    if batch not in (UINT8, FLOAT_ON_HOST):
        raise ValueError(f"batch must be {UINT8!r} or {FLOAT_ON_HOST!r}, got {batch!r}")
    train_transform, _ = build_transforms(data_config)
    image_set = image_set_for_classes(
        index, np.arange(index.num_classes), train_transform, image_cache=image_cache
    )
    skipped = warmup_batches(num_workers)
    batch_size = training.batch_size
    loader = build_train_loader(
        # the baseline has an image set's labels and length, which is all the loader reads
        cast(ImageSet, FloatOnHost(image_set)) if batch == FLOAT_ON_HOST else image_set,
        training,
        images_per_class,
        seed=seed,
        num_workers=num_workers,
        pin_memory=pin_memory,
        length=(skipped + batches) * batch_size,
    )
    cast(EpochSampler | ShuffledEpochSampler, loader.sampler).set_epoch(1)
    arrivals, batch_bytes = [], 0
    with stop_signals_deferred():  # the loader's workers are forked here
        delivered_batches = iter(loader)
    for delivered in delivered_batches:
        arrivals.append(time.perf_counter())
        batch_bytes = batch_bytes or tensor_bytes(delivered)
    if len(arrivals) - skipped != batches:
        raise RuntimeError(
            f"the loader delivered {len(arrivals)} batches, expected {skipped + batches}"
        )
    window = arrivals[-1] - arrivals[skipped - 1]
    cached = image_cache is not None
    return LoaderMeasurement(num_workers, batch_size, batches, window, cached, batch, batch_bytes)


def tensor_bytes(value: Any) -> int:
    """Bytes of every tensor in ``value`` (a tensor, or tuples and lists of them)."""
    if isinstance(value, torch.Tensor):
        return value.nbytes
    if isinstance(value, list | tuple):
        return sum(tensor_bytes(item) for item in value)
    return 0


def tree_image_cache(
    index: DatasetIndex, profiled: ProtocolConfig, cache_dir: Any
) -> tuple[ImageCache | None, str]:
    """The image cache of ``index`` for the protocol's train transform (built untimed), or None
    with the reason when the transform has nothing to cache exactly."""
    train_transform, _ = build_transforms(profiled.data)
    refusal = cache_refusal(profiled.data, train_transform)
    if refusal is not None:
        return None, f"the image cache is not measured: {refusal}"
    cache = ensure_image_cache(
        "cub", index.paths, train_transform, cache_dir, workers=0, progress=False
    )
    return cache, ""


Loader = Callable[[int, "ImageCache | None", str], LoaderMeasurement]


def interleaved_loaders(
    loader: Loader,
    counts: Sequence[int],
    cache: ImageCache | None,
    rounds: int,
    bar: Progress,
) -> list[LoaderMeasurement]:
    """``loader(count, cache or None, batch)`` for every count, source and batch kind; each
    round times every count from the files, then from the cache, each with uint8 batches then
    the float baseline (a busy neighbour on a shared machine slows them alike); rounds are
    pooled."""
    sources = (None, cache) if cache is not None else (None,)
    pooled: dict[tuple[int, bool, str], LoaderMeasurement] = {}
    for round_number in range(rounds):
        for count in counts:
            bar.set_postfix(f"loader round {round_number + 1}, {count} workers")
            for source in sources:
                for batch in (UINT8, FLOAT_ON_HOST):
                    measured = loader(count, source, batch)
                    key = (count, source is not None, batch)
                    pooled[key] = pooled[key].pooled(measured) if key in pooled else measured
            bar.update()
    return [pooled[key] for key in sorted(pooled, key=lambda k: (k[2] != UINT8, k[0], k[1]))]
