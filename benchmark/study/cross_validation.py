"""One protocol on one dataset: the class split, the folds, and how one fold is trained.

This is the only place where the study and the retrain stage touch data, models and losses,
so the rule "test classes never reach a trial" is enforced here: trials only ever see
:meth:`CrossValidation.fold_sets`, built from the train+val classes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmark.config import ProtocolConfig
from benchmark.data import (
    Fold,
    ImageSet,
    build_folds,
    build_transforms,
    image_set_for_classes,
    load_dataset,
    mlrc_split,
)
from benchmark.engine import FitResult, LossBundle, RunDevice, Trainer, embed, seed_everything
from benchmark.io import atomic_write_bytes
from benchmark.models import build_model


@dataclass
class TrainedFold:
    """A finished fold: its fit result and its network holding the best weights."""

    result: FitResult
    model: torch.nn.Module


class CrossValidation:
    """Data and training of the class-disjoint folds of one (protocol, dataset)."""

    def __init__(self, config: ProtocolConfig, progress: bool = True):
        self.config = config
        self.progress = progress
        self.run_device = RunDevice.from_config(config.training)
        self.index = load_dataset(config.dataset, config.data.root, config.data)
        self.split = mlrc_split(self.index)
        self.folds: list[Fold] = build_folds(
            self.split.trainval_classes, config.data.n_folds, config.data.fold_scheme
        )
        self.train_transform, self.eval_transform = build_transforms(config.data)
        self._fold_sets: dict[int, tuple[ImageSet, ImageSet]] = {}

    def fold_sets(self, fold: Fold) -> tuple[ImageSet, ImageSet]:
        """(train, validation) image sets of ``fold``; labels remapped to 0..C-1 in each."""
        if fold.index not in self._fold_sets:
            cache = self.config.data.cache_images
            train = image_set_for_classes(
                self.index, fold.train_classes, self.train_transform, cache_images=cache
            )
            val = image_set_for_classes(
                self.index, fold.val_classes, self.eval_transform, cache_images=cache
            )
            self._fold_sets[fold.index] = (train, val)
        return self._fold_sets[fold.index]

    @cached_property
    def test_set(self) -> ImageSet:
        """The test classes (used by the retrain stage only, never by a trial)."""
        return image_set_for_classes(
            self.index,
            self.split.test_classes,
            self.eval_transform,
            cache_images=self.config.data.cache_images,
        )

    def build_model(self, seed: int) -> torch.nn.Module:
        """The network a fold with this seed starts from."""
        seed_everything(seed)
        return build_model(self.config.model)

    def train_fold(
        self,
        loss_name: str,
        params: dict[str, Any],
        fold: Fold,
        seed: int,
        fit_dir: Path,
        keep_checkpoint: bool,
    ) -> TrainedFold:
        """Train one fold to early stop (or return its finished result from ``fit_dir``)."""
        train_set, val_set = self.fold_sets(fold)
        model = self.build_model(seed)
        loss = LossBundle.build(
            loss_name, params, train_set.num_classes, self.config.model.embedding_size
        )
        trainer = Trainer(
            model,
            loss,
            self.config.training,
            fit_dir,
            seed,
            num_workers=self.config.data.num_workers,
            keep_checkpoint=keep_checkpoint,
            progress=self.progress,
            description=f"{loss_name} fold {fold.index}",
        )
        return TrainedFold(trainer.fit(train_set, val_set), model)

    def test_embeddings(self, model: torch.nn.Module, cache_path: Path | None = None) -> np.ndarray:
        """Embeddings of the test set, computed on the run's device in the same precision as
        validation (cached as .npy next to the fit when a path is given)."""
        if cache_path is not None and cache_path.is_file():
            return np.load(cache_path)
        embeddings, _ = embed(
            model,
            self.test_set,
            self.run_device,
            batch_size=self.config.training.eval_batch_size,
            num_workers=self.config.data.num_workers,
        )
        array = embeddings.cpu().numpy()
        if cache_path is not None:
            atomic_write_bytes(cache_path, _npy_bytes(array))
        return array


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()
