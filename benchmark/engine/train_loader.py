"""The training loader: mini-batches drawn per epoch as a pure function of ``(seed, epoch)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from torch.utils.data import DataLoader

from benchmark.config import TrainingConfig
from benchmark.engine.epoch_sampler import EpochSampler, ShuffledEpochSampler
from benchmark.errors import ConfigError

if TYPE_CHECKING:
    from benchmark.data.image_set import ImageSet


def build_train_loader(
    train_set: ImageSet,
    config: TrainingConfig,
    images_per_class: int,
    *,
    seed: int,
    num_workers: int = 0,
    pin_memory: bool = False,
    length: int | None = None,
) -> DataLoader:
    """``config.batch_sampler`` batches of ``config.batch_size`` (``drop_last``): m-per-class
    (``images_per_class`` per class) or shuffled; ``length`` items per epoch (default:
    ``iterations_per_epoch`` batches, or one pass over the training set when that is 0).
    Call ``loader.sampler.set_epoch(e)`` before each epoch."""
    if length is None:
        length = epoch_length(config, len(train_set))
    if config.batch_sampler == "random":
        sampler: EpochSampler | ShuffledEpochSampler = ShuffledEpochSampler(
            len(train_set), length, seed=seed
        )
    else:
        labels = np.asarray(train_set.labels)
        sampler = EpochSampler(labels, config.batch_size, images_per_class, length, seed)
    return DataLoader(
        train_set,
        batch_size=config.batch_size,
        sampler=sampler,
        drop_last=True,
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=num_workers > 0,
    )


def epoch_length(config: TrainingConfig, num_items: int) -> int:
    """Items drawn per epoch: ``iterations_per_epoch`` batches, or (0) one pass over the set."""
    batch_size = config.batch_size
    if config.iterations_per_epoch > 0:
        return config.iterations_per_epoch * batch_size
    if num_items < batch_size:
        raise ConfigError(
            f"the training set has {num_items} images, fewer than one batch of {batch_size}; "
            "lower training.batch_size"
        )
    return num_items - num_items % batch_size
