"""What the engine needs to know about a loss: its registration, the built module, its lr."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from benchmark.losses import LossSpec, build_loss, get_loss_spec


@dataclass(frozen=True)
class LossBundle:
    """A registered loss built for one training split, with the learning rate of its parameters.

    Attributes:
        spec: the registration (name, display, kind -> images per class, has_parameters).
        module: ``module(embeddings, labels) -> scalar``; may own parameters.
        lr: learning rate of the module's own parameters (the hyperparameter ``loss_lr``);
            required when it has trainable parameters.
    """

    spec: LossSpec
    module: torch.nn.Module
    lr: float | None = None

    @classmethod
    def build(
        cls, name: str, params: dict[str, Any], num_classes: int, embedding_size: int
    ) -> LossBundle:
        """Build loss ``name`` with hyperparameters ``params`` (``loss_lr`` included)."""
        module = build_loss(name, num_classes=num_classes, embedding_size=embedding_size, **params)
        return cls(get_loss_spec(name), module, params.get("loss_lr"))

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def images_per_class(self) -> int:
        """The sampler's m: images of each class in a mini-batch."""
        return self.spec.images_per_class
