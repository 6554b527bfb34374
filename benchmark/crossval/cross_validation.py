"""One protocol on one dataset: the class split, the folds, and how one fold is trained.

This is the only place where the study and the retrain stage touch data, models and losses,
so the rule "test classes never reach a trial" is enforced here: trials only ever see
:meth:`CrossValidation.fold_sets`, built from the train+val classes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmark.config import ProtocolConfig
from benchmark.crossval.protocol_split import ImageEvalSet, build_split
from benchmark.data import (
    Fold,
    ImageSet,
    build_transforms,
    load_dataset,
)
from benchmark.engine import (
    EvalSet,
    FitDirectory,
    FitResult,
    LossBundle,
    RunDevice,
    Trainer,
    embed,
    eval_parts,
    seed_everything,
)
from benchmark.io import atomic_np_save
from benchmark.models import build_model


@dataclass
class TrainedFold:
    """A finished fold: its fit result and its network holding the best weights."""

    result: FitResult
    model: torch.nn.Module


class CrossValidation:
    """Data and training of the folds of one (protocol, dataset).

    ``data.split`` decides the folds (:mod:`benchmark.crossval.protocol_split`): MLRC's class-disjoint
    folds of the train+val classes, or the predefined train/test split as one fold.
    """

    def __init__(self, config: ProtocolConfig, progress: bool = True):
        self.config = config
        self.progress = progress
        self.run_device = RunDevice.from_config(config.training)
        self.index = load_dataset(config.dataset, config.data.root, config.data)
        self.train_transform, self.eval_transform = build_transforms(config.data)
        self.split = build_split(
            self.index, config.data, self.train_transform, self.eval_transform, progress
        )
        self.folds: list[Fold] = self.split.folds

    def fold_sets(self, fold: Fold) -> tuple[ImageSet, EvalSet]:
        """(train set, validation set) of ``fold``; labels remapped to 0..C-1 in each."""
        return self.split.fold_sets(fold)

    @property
    def test_set(self) -> ImageEvalSet:
        """The test images (used by the retrain stage only, never by a trial of an MLRC split)."""
        return self.split.test_set

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
        on_evaluation: Callable[[Trainer], None] | None = None,
    ) -> TrainedFold:
        """Train one fold to early stop (or return its finished result from ``fit_dir``);
        ``on_evaluation`` is the :class:`Trainer`'s (a trial reports and prunes through it)."""
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
            on_evaluation=on_evaluation,
        )
        return TrainedFold(trainer.fit(train_set, val_set), model)

    def test_embeddings(self, model: torch.nn.Module, fold_dir: Path) -> tuple[np.ndarray, ...]:
        """Embeddings of the test set -- ``(query,)``, or ``(query, gallery)`` for a pair --
        computed on the run's device in the same precision as validation, and cached as .npy in
        ``fold_dir``."""
        parts = eval_parts(self.test_set)
        paths = FitDirectory(fold_dir).test_embeddings(len(parts))
        return tuple(
            self._cached_embeddings(model, dataset, path)
            for dataset, path in zip(parts, paths, strict=True)
        )

    def _cached_embeddings(
        self, model: torch.nn.Module, dataset: ImageSet, path: Path
    ) -> np.ndarray:
        if path.is_file():
            return np.load(path)
        embeddings, _ = embed(
            model,
            dataset,
            self.run_device,
            batch_size=self.config.training.eval_batch_size,
            num_workers=self.config.data.num_workers,
        )
        array = embeddings.cpu().numpy()
        atomic_np_save(path, array)
        return array
