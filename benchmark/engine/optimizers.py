"""The optimizer groups of a run: trunk, embedder and the loss's own parameters.

Each group has its own optimizer (as MLRC does), so each can have its own learning rate,
weight decay, warm-up and schedule. The protocol composes them through ``TrainingConfig``:
RMSprop with momentum (MLRC) or AdamW (the traditional protocol).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from benchmark.config import TrainingConfig
from benchmark.engine.loss_bundle import LossBundle
from benchmark.errors import ConfigError


def build_optimizer(
    parameters: Iterable[torch.nn.Parameter], lr: float, weight_decay: float, config: TrainingConfig
) -> torch.optim.Optimizer:
    """One optimizer of the kind ``config.optimizer`` names."""
    parameters = list(parameters)
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(
            parameters, lr=lr, momentum=config.momentum, weight_decay=weight_decay
        )
    if config.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay)
    raise ConfigError(f"training.optimizer: unknown optimizer '{config.optimizer}'")


def build_optimizers(
    model: torch.nn.Module, loss: LossBundle, config: TrainingConfig
) -> dict[str, torch.optim.Optimizer]:
    """``{"trunk": ..., "embedder": ..., ["loss": ...]}``, one optimizer per group.

    The ``loss`` group exists only when the loss owns trainable parameters; its learning rate
    is ``loss.lr`` (the hyperparameter ``loss_lr``, required then) and its weight decay the
    registration's ``parameter_weight_decay``, else ``config.loss_weight_decay``.
    """
    optimizers = {
        "trunk": build_optimizer(
            model.get_submodule("trunk").parameters(), config.trunk_lr, config.weight_decay, config
        ),
        "embedder": build_optimizer(
            model.get_submodule("embedder").parameters(),
            config.embedder_lr,
            config.weight_decay,
            config,
        ),
    }
    loss_parameters = [p for p in loss.module.parameters() if p.requires_grad]
    if loss_parameters:
        if loss.lr is None:
            raise ConfigError(
                f"loss '{loss.name}' has trainable parameters: give their learning rate "
                "(the hyperparameter loss_lr)"
            )
        weight_decay = loss.spec.parameter_weight_decay
        if weight_decay is None:
            weight_decay = config.loss_weight_decay
        optimizers["loss"] = build_optimizer(loss_parameters, loss.lr, weight_decay, config)
    return optimizers


def build_schedulers(
    optimizers: dict[str, torch.optim.Optimizer], config: TrainingConfig
) -> dict[str, torch.optim.lr_scheduler.LRScheduler]:
    """A StepLR per optimizer (stepped once per epoch) when ``config.lr_step_epochs > 0``."""
    if config.lr_step_epochs <= 0:
        return {}
    return {
        name: torch.optim.lr_scheduler.StepLR(
            optimizer, step_size=config.lr_step_epochs, gamma=config.lr_gamma
        )
        for name, optimizer in optimizers.items()
    }
