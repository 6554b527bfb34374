"""A tiny, fast metric-learning problem for engine tests, also runnable as a fit job.

``python engine_tiny_problem.py RUN_DIR [--sleep S]`` fits the tiny problem in RUN_DIR
(each iteration sleeping S seconds, so that a test can kill it mid-way) and prints the result.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time

import numpy as np
import torch
from pytorch_metric_learning.losses import ContrastiveLoss

from benchmark.config import ModelConfig, TrainingConfig
from benchmark.engine import LossBundle
from benchmark.losses import get_loss_spec
from benchmark.models import build_model

IMAGE_SIZE = 16
NUISANCE_DIM = 4
NUISANCE_SCALE = 1.0


class TinyImageSet(torch.utils.data.Dataset):
    """Each image is its class's prototype buried under a strong nuisance drawn from a subspace
    shared by all classes (what training learns to ignore, so it transfers to unseen classes).
    Train items are randomly flipped and jittered with the global torch RNG, as torchvision
    augmentations are."""

    def __init__(self, prototypes, nuisance, per_class: int, augment: bool, seed: int):
        generator = torch.Generator().manual_seed(seed)
        classes = len(prototypes)
        self.labels = np.repeat(np.arange(classes), per_class).astype(np.int64)
        self.num_classes = classes
        weights = torch.randn(len(self.labels), len(nuisance), generator=generator)
        noise = torch.randn(len(self.labels), *prototypes.shape[1:], generator=generator)
        self.images = (
            prototypes[torch.as_tensor(self.labels)]
            + NUISANCE_SCALE * torch.einsum("nk,kchw->nchw", weights, nuisance)
            + 0.3 * noise
        )
        self.augment = augment

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        image = self.images[i]
        if self.augment:
            if torch.rand(()) < 0.5:
                image = image.flip(-1)
            image = image + 0.1 * torch.randn_like(image)
        return image, int(self.labels[i])


def tiny_sets(classes: int = 14, per_class: int = 8, val_classes: int = 6):
    """(train_set, val_set): class-disjoint, deterministic."""
    generator = torch.Generator().manual_seed(1234)
    prototypes = torch.randn(classes, 3, IMAGE_SIZE, IMAGE_SIZE, generator=generator)
    nuisance = torch.randn(NUISANCE_DIM, 3, IMAGE_SIZE, IMAGE_SIZE, generator=generator)
    train_prototypes, val_prototypes = prototypes[:-val_classes], prototypes[-val_classes:]
    train = TinyImageSet(train_prototypes, nuisance, per_class, augment=True, seed=1)
    val = TinyImageSet(val_prototypes, nuisance, per_class, augment=False, seed=2)
    return train, val


def tiny_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    config = ModelConfig(
        trunk="small_cnn", weights="none", embedding_size=16, freeze_batchnorm=False,
        small_cnn_width=8,
    )  # fmt: skip
    return build_model(config)


def tiny_config(**overrides) -> TrainingConfig:
    values = dict(
        batch_size=16, trunk_lr=1e-3, embedder_lr=1e-3, iterations_per_epoch=4,
        eval_every_epochs=1, patience_epochs=2, max_epochs=6, device="cpu", amp=False,
        eval_batch_size=64,
    )  # fmt: skip
    values.update(overrides)
    return TrainingConfig(**values)


def bundle(module: torch.nn.Module, lr: float | None = None, name: str = "test_loss") -> LossBundle:
    """``module`` as a pair-based loss (batches of 4 images per class) named ``name``."""
    return LossBundle(dataclasses.replace(get_loss_spec("contrastive"), name=name), module, lr)


class SlowLoss(torch.nn.Module):
    """A loss that sleeps before computing (the result is unchanged)."""

    def __init__(self, loss: torch.nn.Module, sleep_s: float):
        super().__init__()
        self.loss = loss
        self.sleep_s = sleep_s

    def forward(self, embeddings, labels):
        time.sleep(self.sleep_s)
        return self.loss(embeddings, labels)


def run_job(run_dir: str, sleep_s: float = 0.0, max_epochs: int = 8) -> dict:
    from benchmark.engine import Trainer

    torch.set_num_threads(1)  # the same arithmetic in every process
    train, val = tiny_sets()
    trainer = Trainer(
        tiny_model(),
        bundle(SlowLoss(ContrastiveLoss(), sleep_s), name="contrastive"),
        tiny_config(max_epochs=max_epochs, patience_epochs=100),
        run_dir,
        seed=7,
        progress=False,
    )
    return trainer.fit(train, val).to_dict()


if __name__ == "__main__":
    sleep = float(sys.argv[sys.argv.index("--sleep") + 1]) if "--sleep" in sys.argv else 0.0
    print(json.dumps(run_job(sys.argv[1], sleep)))
