"""One protocol on one dataset: the class split, the folds, and how one fold is trained.

This is the only place where the study and the retrain stage touch data, models and losses,
so the rule "test classes never reach a trial" is enforced here: trials only ever see
:meth:`CrossValidation.fold_sets`, built from the train+val classes.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmark.config import ProtocolConfig
from benchmark.data import (
    Fold,
    build_transforms,
    image_set_for_classes,
    load_dataset,
    make_folds,
    mlrc_split,
)
from benchmark.engine import (
    FitResult,
    embed,
    fit,
    load_best_model,
    resolve_device,
    seed_everything,
)
from benchmark.losses import build_loss, get_loss_spec
from benchmark.models import build_model


class CrossValidation:
    """Data and training of the class-disjoint folds of one (protocol, dataset)."""

    def __init__(self, config: ProtocolConfig, progress: bool = True):
        self.config = config
        self.progress = progress
        self.index = load_dataset(config.dataset, config.data.root, config.data)
        self.split = mlrc_split(self.index)
        self.folds: list[Fold] = make_folds(
            self.split.trainval_classes, config.data.n_folds, config.data.fold_scheme
        )
        self.train_transform, self.eval_transform = build_transforms(config.data)
        self._fold_sets: dict[int, tuple[Any, Any]] = {}

    def fold_sets(self, fold: Fold) -> tuple[Any, Any]:
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
    def test_set(self) -> Any:
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
        run_dir: Path,
        keep_checkpoint: bool,
    ) -> FitResult:
        """Train one fold to early stop (or return its finished result from ``run_dir``)."""
        train_set, val_set = self.fold_sets(fold)
        model = self.build_model(seed)
        loss = build_loss(
            loss_name,
            num_classes=train_set.num_classes,
            embedding_size=self.config.model.embedding_size,
            **params,
        )
        return fit(
            model,
            loss,
            train_set=train_set,
            val_set=val_set,
            config=self.config.training,
            run_dir=run_dir,
            seed=seed,
            loss_name=loss_name,
            images_per_class=get_loss_spec(loss_name).images_per_class,
            loss_lr=params.get("loss_lr"),
            num_workers=self.config.data.num_workers,
            keep_checkpoint=keep_checkpoint,
            progress=self.progress,
            description=f"{loss_name} fold {fold.index}",
        )

    def test_embeddings(self, model: torch.nn.Module, cache_path: Path | None = None) -> np.ndarray:
        """Embeddings of the test set (cached as .npy next to the fit when a path is given)."""
        if cache_path is not None and cache_path.is_file():
            return np.load(cache_path)
        embeddings, _ = embed(
            model,
            self.test_set,
            batch_size=self.config.training.eval_batch_size,
            device=resolve_device(self.config.training.device),
            num_workers=self.config.data.num_workers,
        )
        array = embeddings.float().cpu().numpy()
        if cache_path is not None:
            cache_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_path.with_suffix(".tmp.npy")
            np.save(tmp, array)
            tmp.replace(cache_path)
        return array

    def trained_model(self, run_dir: Path, seed: int) -> torch.nn.Module:
        """The best checkpoint of a finished fit, loaded into a fresh network."""
        model = self.build_model(seed)
        load_best_model(run_dir, model)
        return model

