"""The loss registry: one registration per loss decides everything downstream.

A registration states the loss's table label, its kind (which decides the mini-batch
composition), whether it owns trainable parameters (which then get their own optimizer with
learning rate ``loss_lr``, and a weight decay of their own where the loss needs one) and its
search-space file. The one-line meaning ``mlrc losses`` shows is the first line of the builder's
docstring.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from benchmark.config import shipped_data_dir
from benchmark.errors import UnknownLossError
from benchmark.registry import Registry

LossKind = Literal["pair", "classification"]
LossBuilder = Callable[..., torch.nn.Module]

# search_spaces/ of the checkout, or the copy an installed wheel ships as package data.
SEARCH_SPACES_DIR = shipped_data_dir("search_spaces", "search_spaces")

# MLRC mini-batch composition: pair-based losses see 8 classes x 4 images, classification-based
# losses 32 classes x 1 image (for batch 32).
IMAGES_PER_CLASS: dict[str, int] = {"pair": 4, "classification": 1}

# Keys of a search space that configure the training, not the loss module.
TRAINING_HYPERPARAMETERS = frozenset({"loss_lr"})


@dataclass(frozen=True)
class LossSpec:
    """Everything the benchmark knows about one registered loss."""

    name: str
    display: str
    kind: LossKind
    has_parameters: bool
    builder: LossBuilder
    search_space_path: Path
    parameter_weight_decay: float | None = None
    """Weight decay of the loss's own parameters; None: the protocol's ``loss_weight_decay``."""

    @property
    def description(self) -> str:
        """The first line of the builder's docstring: what the loss is, in one line."""
        return (inspect.getdoc(self.builder) or "").split("\n")[0]

    @property
    def images_per_class(self) -> int:
        """Images of each class in a mini-batch (the sampler's m)."""
        return IMAGES_PER_CLASS[self.kind]

    @property
    def accepted_hyperparameters(self) -> frozenset[str] | None:
        """Keyword names the builder accepts, or None if it takes ``**kwargs``."""
        parameters = inspect.signature(self.builder).parameters.values()
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            return None
        names = {p.name for p in parameters} - {"num_classes", "embedding_size"}
        return frozenset(names | (TRAINING_HYPERPARAMETERS if self.has_parameters else set()))


_REGISTRY: Registry[LossSpec] = Registry("loss", identity=lambda spec: spec.builder)


def register_loss(
    name: str,
    *,
    display: str,
    kind: LossKind,
    has_parameters: bool = False,
    search_space: str | Path | None = None,
    parameter_weight_decay: float | None = None,
    replace: bool = False,
) -> Callable[[LossBuilder], LossBuilder]:
    """Register ``builder(num_classes, embedding_size, **hyperparameters) -> nn.Module``.

    The builder is a function or the loss class itself (when its constructor takes
    ``num_classes`` and ``embedding_size`` first); its keyword arguments are the loss's
    hyperparameters, against which the search space is validated.

    Args:
        name: the name used on the command line and in result rows, lower case (``mfcwms``;
            lookups ignore case, :mod:`benchmark.registry`).
        display: the row label in tables (``MFCWMS``).
        kind: ``"pair"`` (batches of 8 classes x 4 images) or ``"classification"`` (32 x 1).
        has_parameters: the loss owns trainable tensors (proxies, mean fields, class weights);
            they get their own optimizer whose learning rate is the hyperparameter ``loss_lr``.
        search_space: the YAML file of the search space; a relative path is looked up next to
            the module that registers the loss, then in ``search_spaces/``. Default:
            ``<name>.yaml``.
        parameter_weight_decay: the weight decay of the loss's own parameters when it must not
            be the protocol's ``training.loss_weight_decay`` (e.g. 0 for Margin's learned
            boundary beta, which MLRC trained without weight decay).
        replace: allow re-registering an existing name (for notebooks that reload a plugin).
    """
    if kind not in IMAGES_PER_CLASS:
        raise ValueError(f"kind must be 'pair' or 'classification', got {kind!r}")
    if not name.isidentifier() or not name.isascii():
        # It names folders, Slurm jobs and scripts: `../x` or `sp ace` would escape or collide.
        suggestion = re.sub(r"\W+", "_", name).strip("_") or "my_loss"
        raise ValueError(
            f"loss name {name!r} is not an identifier: use letters, digits and _ "
            f"(e.g. {suggestion!r})"
        )
    _REGISTRY.canonical_name(name)
    if parameter_weight_decay is not None and not has_parameters:
        raise ValueError("parameter_weight_decay needs has_parameters=True")

    def decorator(builder: LossBuilder) -> LossBuilder:
        spec = LossSpec(
            name=name,
            display=display,
            kind=kind,
            has_parameters=has_parameters,
            builder=builder,
            search_space_path=_resolve_search_space(search_space or f"{name}.yaml", builder),
            parameter_weight_decay=parameter_weight_decay,
        )
        _REGISTRY.add(name, spec, replace=replace)
        return builder

    return decorator


def _resolve_search_space(search_space: str | Path, builder: LossBuilder) -> Path:
    path = Path(search_space)
    if path.is_absolute():
        return path
    module_file = inspect.getsourcefile(builder)
    if module_file is not None:
        beside_module = Path(module_file).resolve().parent / path
        if beside_module.is_file():
            return beside_module
    return SEARCH_SPACES_DIR / path


def get_loss_spec(name: str) -> LossSpec:
    """The registration of ``name`` (case-insensitive); an unknown name raises one clear error."""
    spec = _REGISTRY.find(name)
    if spec is None:
        known = ", ".join(sorted(_REGISTRY.names()))
        raise UnknownLossError(
            f"unknown loss '{name}'; registered losses: {known} "
            "(register your own with --plugin my_losses.py)"
        )
    return spec


def list_losses() -> list[LossSpec]:
    """All registered losses, in registration order."""
    return _REGISTRY.entries()


def build_loss(
    name: str, num_classes: int, embedding_size: int, **hyperparameters: float
) -> torch.nn.Module:
    """Build the loss module ``name`` for a split with ``num_classes`` classes.

    ``loss_lr`` is a training hyperparameter (the learning rate of the loss's own optimizer),
    so it is accepted here and ignored, which lets a trial's parameters be passed as they are.
    """
    spec = get_loss_spec(name)
    kwargs = {k: v for k, v in hyperparameters.items() if k not in TRAINING_HYPERPARAMETERS}
    return spec.builder(num_classes=num_classes, embedding_size=embedding_size, **kwargs)
