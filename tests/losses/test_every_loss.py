"""Every registered loss, checked the same way.

Each loss builds with its builder's defaults and at both ends of every searched range (the
widest over all datasets), and gives a finite scalar and finite gradients (embeddings and the
loss's own parameters) on an MLRC batch: 32 embeddings of size 128, composed as m = 4 images
per class (pair-based sampling) and as 1 image per class (classification sampling), whichever the
loss's protocol uses. Then each loss trains one fold of the tiny protocol end to end.
"""

from __future__ import annotations

import math

import optuna
import pytest
import torch

from benchmark.cli.gpu_check import TINY_OVERRIDES  # the test suite's tiny protocol
from benchmark.config import load_protocol
from benchmark.data import dataset_names
from benchmark.losses import LossSpec, build_loss, list_losses
from benchmark.losses.search_space import load_search_space

BATCH_SIZE = 32
EMBEDDING_SIZE = 128
NUM_CLASSES = 40  # at least 32, for one image per class
COMPOSITIONS = {"4_per_class": 4, "1_per_class": 1}


def widest_ranges(spec: LossSpec) -> dict[str, tuple[float, float, bool]]:
    """name -> (lowest low, highest high, integer) over the default ranges and every dataset."""
    ranges: dict[str, tuple[float, float, bool]] = {}
    for dataset in (None, *dataset_names()):
        for name, p in load_search_space(spec, dataset).params.items():
            low, high, _ = ranges.get(name, (p.low, p.high, p.integer))
            ranges[name] = (min(low, p.low), max(high, p.high), p.integer)
    return ranges


def cases() -> list:
    """(loss, hyperparameters): the builder's defaults, then each range's two ends (the other
    hyperparameters at their defaults, fixed values as in the search space)."""
    params = []
    for spec in list_losses():
        params.append(pytest.param(spec.name, None, id=f"{spec.name}-defaults"))
        fixed = load_search_space(spec).fixed
        for name, (low, high, integer) in widest_ranges(spec).items():
            for end, value in (("low", low), ("high", high)):
                value = int(value) if integer else value
                params.append(
                    pytest.param(spec.name, {**fixed, name: value}, id=f"{spec.name}-{name}-{end}")
                )
    return params


def batch(images_per_class: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    classes = torch.randperm(NUM_CLASSES, generator=generator)[: BATCH_SIZE // images_per_class]
    labels = classes.repeat_interleave(images_per_class)
    embeddings = torch.randn(BATCH_SIZE, EMBEDDING_SIZE, generator=generator)
    return embeddings.requires_grad_(True), labels


@pytest.mark.parametrize("composition", COMPOSITIONS.values(), ids=COMPOSITIONS.keys())
@pytest.mark.parametrize(("name", "params"), cases())
def test_loss_and_gradients_are_finite_on_an_mlrc_batch(name, params, composition):
    torch.manual_seed(0)
    loss = build_loss(name, NUM_CLASSES, EMBEDDING_SIZE, **(params or {}))
    embeddings, labels = batch(composition)
    value = loss(embeddings, labels)
    assert value.dim() == 0 and torch.isfinite(value), value
    value.backward()
    own = [p for p in loss.parameters() if p.requires_grad]
    for tensor in (embeddings, *own):
        assert tensor.grad is None or torch.isfinite(tensor.grad).all()
    assert embeddings.grad is not None or value.item() == 0.0


@pytest.mark.parametrize("spec", list_losses(), ids=lambda spec: spec.name)
def test_defaults_give_a_gradient_on_the_batches_the_protocol_draws_for_the_loss(spec):
    """The check above could pass on a loss that computes nothing; this one could not."""
    torch.manual_seed(0)
    loss = build_loss(spec.name, NUM_CLASSES, EMBEDDING_SIZE)
    embeddings, labels = batch(spec.images_per_class)
    loss(embeddings, labels).backward()
    assert embeddings.grad is not None and embeddings.grad.abs().sum() > 0


@pytest.fixture(scope="module")
def tiny_cross_validation():
    from benchmark.crossval.cross_validation import CrossValidation

    config = load_protocol("demo", "synthetic", list(TINY_OVERRIDES))
    return CrossValidation(config, progress=False)


def midpoint(spec: LossSpec, dataset: str) -> dict:
    space = load_search_space(spec, dataset)
    middle = {}
    for p in space.params.values():
        value = math.sqrt(p.low * p.high) if p.log else (p.low + p.high) / 2
        middle[p.name] = round(value) if p.integer else value
    return space.suggest(optuna.trial.FixedTrial(middle))


@pytest.mark.parametrize("spec", list_losses(), ids=lambda spec: spec.name)
def test_trains_a_fold_of_the_tiny_protocol(spec, tiny_cross_validation, tmp_path):
    cv = tiny_cross_validation
    params = midpoint(spec, cv.config.dataset)
    trained = cv.train_fold(spec.name, params, cv.folds[0], 0, tmp_path, keep_checkpoint=False)
    result = trained.result
    assert result.iterations == cv.config.training.iterations_per_epoch * result.epochs > 0
    losses = [point["loss"] for point in result.curve if point["loss"] is not None]
    assert losses and all(math.isfinite(value) for value in losses)
    assert 0.0 <= result.best_val_map_at_r <= 1.0
