"""MeanFieldContrastive: equal to its definition (its docstring), and its gradients."""

from __future__ import annotations

import pytest
import torch
from paper_losses_by_definition import mfcont_by_definition, random_batch
from torch.autograd import gradcheck
from torch.func import functional_call

from benchmark.losses import MeanFieldContrastiveLoss, build_loss

NUM_CLASSES, EMBEDDING_SIZE = 9, 6

BATCHES = {
    "absent_and_singleton_classes": [0, 0, 0, 2, 2, 5, 7, 7, 7, 7, 3],
    "one_item_per_class": [4, 1, 8, 0, 6, 2],
    "many_items_per_class": [1] * 5 + [3] * 5 + [6] * 5,
}
MARGINS = {
    "published": {"pos_margin": 0.02, "neg_margin": 0.3},
    "wide": {"pos_margin": 0.5, "neg_margin": 1.2},
    "everything_violates": {"pos_margin": 0.0, "neg_margin": 2.0},
}
REGULARIZERS = {
    "no_regularizer": {"mf_reg": 0.0},
    "regularizer_power_1": {"mf_reg": 0.3, "mf_power": 1.0},
    "regularizer_power_2": {"mf_reg": 0.7, "mf_power": 2.0},
}


def make_loss(seed: int = 0, **hyperparameters) -> MeanFieldContrastiveLoss:
    torch.manual_seed(seed)
    return MeanFieldContrastiveLoss(NUM_CLASSES, EMBEDDING_SIZE, **hyperparameters).double()


def make_batch(labels: list[int], seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    return random_batch(labels, EMBEDDING_SIZE, seed)


def by_definition(loss, embeddings, labels):
    return mfcont_by_definition(
        embeddings,
        labels,
        loss.mean_fields,
        pos_margin=loss.pos_margin,
        neg_margin=loss.neg_margin,
        mf_reg=loss.mf_reg,
        mf_power=loss.mf_power,
    )


@pytest.mark.parametrize("regularizer", REGULARIZERS.values(), ids=REGULARIZERS.keys())
@pytest.mark.parametrize("margins", MARGINS.values(), ids=MARGINS.keys())
@pytest.mark.parametrize("labels", BATCHES.values(), ids=BATCHES.keys())
def test_mfcont_equals_its_definition(labels, margins, regularizer):
    loss = make_loss(**margins, **regularizer)
    embeddings, labels = make_batch(labels)
    with torch.no_grad():
        expected = by_definition(loss, embeddings, labels)
        torch.testing.assert_close(loss(embeddings, labels), expected, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("labels", BATCHES.values(), ids=BATCHES.keys())
def test_mfcont_gradients_equal_those_of_its_definition(labels):
    loss = make_loss(pos_margin=0.1, neg_margin=0.9, mf_reg=0.4)
    embeddings, labels = make_batch(labels)
    embeddings.requires_grad_(True)
    ours = torch.autograd.grad(loss(embeddings, labels), [embeddings, loss.mean_fields])
    expected = torch.autograd.grad(
        by_definition(loss, embeddings, labels), [embeddings, loss.mean_fields]
    )
    for got, want in zip(ours, expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("mf_reg", [0.0, 0.5])
@pytest.mark.parametrize("labels", BATCHES.values(), ids=BATCHES.keys())
def test_mfcont_passes_gradcheck_for_embeddings_and_mean_fields(labels, mf_reg):
    # Margins chosen so that random cosines stay away from the kinks of relu.
    loss = make_loss(pos_margin=0.1, neg_margin=0.9, mf_reg=mf_reg)
    embeddings, labels = make_batch(labels)
    mean_fields = loss.mean_fields.detach().clone()

    def value(embeddings, mean_fields):
        return functional_call(loss, {"mean_fields": mean_fields}, (embeddings, labels))

    assert gradcheck(value, (embeddings.requires_grad_(), mean_fields.requires_grad_()))


def test_mfcont_owns_mean_fields_built_by_name():
    torch.manual_seed(0)
    loss = build_loss("mfcont", num_classes=7, embedding_size=5, pos_margin=0.1, neg_margin=0.4)
    assert isinstance(loss, MeanFieldContrastiveLoss)
    assert (loss.pos_margin, loss.neg_margin, loss.mf_reg, loss.mf_power) == (0.1, 0.4, 0.0, 2.0)
    assert loss.mean_fields.shape == (7, 5) and loss.mean_fields.requires_grad


def test_regularizer_is_not_computed_when_mf_reg_is_zero():
    loss = make_loss(mf_reg=0.0)

    def fail(*args):
        raise AssertionError("the O(C^2) regulariser ran with mf_reg = 0")

    loss.mean_field_regularizer = fail
    loss(*make_batch(BATCHES["one_item_per_class"]))
