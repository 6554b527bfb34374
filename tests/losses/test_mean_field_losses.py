"""The two mean-field losses of the paper, MeanFieldContrastive and
MeanFieldClassWiseMultiSimilarity: each equal to its definition (its docstring, written out as a
direct loop in ``paper_losses_by_definition``), its gradients, and what each adds of its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import torch
from paper_losses_by_definition import mfcont_by_definition, mfcwms_by_definition, random_batch
from torch.autograd import gradcheck
from torch.func import functional_call

from benchmark.losses import (
    MeanFieldClassWiseMultiSimilarityLoss,
    MeanFieldContrastiveLoss,
    build_loss,
)
from benchmark.profiling.measure import cpu_peak_memory_bytes

NUM_CLASSES, EMBEDDING_SIZE = 9, 6

BATCHES = {
    # classes 1, 4, 6, 8 absent; 3 and 5 singletons; 7 with four items
    "absent_and_singleton_classes": [0, 0, 0, 2, 2, 5, 7, 7, 7, 7, 3],
    "one_item_per_class": [4, 1, 8, 0, 6, 2],
    "many_items_per_class": [1] * 5 + [3] * 5 + [6] * 5,
}
REGULARIZERS = {
    "no_regularizer": {"mf_reg": 0.0},
    "regularizer_power_1": {"mf_reg": 0.3, "mf_power": 1.0},
    "regularizer_power_2": {"mf_reg": 0.7, "mf_power": 2.0},
}


@dataclass(frozen=True)
class MeanFieldCase:
    """One mean-field loss: its class, its registered name, its definition, and the settings
    the shared tests use."""

    loss_class: type[torch.nn.Module]
    name: str
    definition: Callable[..., torch.Tensor]
    hyperparameter_names: tuple[str, ...]
    settings: dict[str, dict[str, float]]
    """Hyperparameter sets the loss is compared with its definition under."""
    smooth: dict[str, float]
    """Hyperparameters for the gradient checks (random cosines far from any kink)."""
    atol: float


CASES = {
    "mfcont": MeanFieldCase(
        MeanFieldContrastiveLoss,
        "mfcont",
        mfcont_by_definition,
        ("pos_margin", "neg_margin"),
        {
            "published": {"pos_margin": 0.02, "neg_margin": 0.3},
            "wide": {"pos_margin": 0.5, "neg_margin": 1.2},
            "everything_violates": {"pos_margin": 0.0, "neg_margin": 2.0},
        },
        {"pos_margin": 0.1, "neg_margin": 0.9},
        atol=1e-15,
    ),
    "mfcwms": MeanFieldCase(
        MeanFieldClassWiseMultiSimilarityLoss,
        "mfcwms",
        mfcwms_by_definition,
        ("alpha", "beta", "base"),
        {
            "ms_like": {"alpha": 2.0, "beta": 50.0, "base": 0.5},
            "published": {"alpha": 0.01, "beta": 80.0, "base": 0.8},
            "extreme": {"alpha": 200.0, "beta": 200.0, "base": 0.0},
        },
        {"alpha": 2.0, "beta": 10.0, "base": 0.5},
        atol=0.0,
    ),
}
SETTINGS = [
    pytest.param(case, setting, id=f"{key}-{setting_id}")
    for key, case in CASES.items()
    for setting_id, setting in case.settings.items()
]
each_loss = pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
each_batch = pytest.mark.parametrize("labels", BATCHES.values(), ids=BATCHES.keys())


def make_loss(case: MeanFieldCase, seed: int = 0, **hyperparameters: Any) -> Any:
    torch.manual_seed(seed)
    return case.loss_class(NUM_CLASSES, EMBEDDING_SIZE, **hyperparameters).double()


def make_batch(labels: list[int], seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    return random_batch(labels, EMBEDDING_SIZE, seed)


def by_definition(case: MeanFieldCase, loss: Any, embeddings, labels) -> torch.Tensor:
    hyperparameters = {name: getattr(loss, name) for name in case.hyperparameter_names}
    return case.definition(
        embeddings,
        labels,
        loss.mean_fields,
        **hyperparameters,
        mf_reg=loss.mf_reg,
        mf_power=loss.mf_power,
    )


@pytest.mark.parametrize("regularizer", REGULARIZERS.values(), ids=REGULARIZERS.keys())
@pytest.mark.parametrize(("case", "setting"), SETTINGS)
@each_batch
def test_loss_equals_its_definition(labels, case, setting, regularizer):
    loss = make_loss(case, **setting, **regularizer)
    embeddings, labels = make_batch(labels)
    with torch.no_grad():
        expected = by_definition(case, loss, embeddings, labels)
        torch.testing.assert_close(loss(embeddings, labels), expected, rtol=1e-9, atol=case.atol)


@each_loss
@each_batch
def test_gradients_equal_those_of_its_definition(labels, case):
    loss = make_loss(case, **case.smooth, mf_reg=0.4)
    embeddings, labels = make_batch(labels)
    embeddings.requires_grad_(True)
    ours = torch.autograd.grad(loss(embeddings, labels), [embeddings, loss.mean_fields])
    expected = torch.autograd.grad(
        by_definition(case, loss, embeddings, labels), [embeddings, loss.mean_fields]
    )
    for got, want in zip(ours, expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("mf_reg", [0.0, 0.5])
@each_loss
@each_batch
def test_passes_gradcheck_for_embeddings_and_mean_fields(labels, case, mf_reg):
    loss = make_loss(case, **case.smooth, mf_reg=mf_reg)
    embeddings, labels = make_batch(labels)
    mean_fields = loss.mean_fields.detach().clone()

    def value(embeddings, mean_fields):
        return functional_call(loss, {"mean_fields": mean_fields}, (embeddings, labels))

    assert gradcheck(value, (embeddings.requires_grad_(), mean_fields.requires_grad_()))


@each_loss
def test_mean_fields_are_one_gaussian_row_per_class_drawn_from_the_global_seed(case):
    torch.manual_seed(3)
    first = build_loss(case.name, num_classes=7, embedding_size=5, **case.smooth)
    torch.manual_seed(3)
    second = build_loss(case.name, num_classes=7, embedding_size=5, **case.smooth)
    assert isinstance(first, case.loss_class)
    assert first.mean_fields.shape == (7, 5) and first.mean_fields.requires_grad
    assert torch.equal(first.mean_fields, second.mean_fields)
    assert {name: getattr(first, name) for name in case.smooth} == case.smooth
    assert (first.mf_reg, first.mf_power) == (0.0, 2.0)


@each_loss
def test_regularizer_is_not_computed_when_mf_reg_is_zero(case):
    loss = make_loss(case, mf_reg=0.0)

    def fail(*args):
        raise AssertionError("the O(C^2) regulariser ran with mf_reg = 0")

    loss.mean_field_regularizer = fail
    loss(*make_batch(BATCHES["one_item_per_class"]))


@each_loss
def test_labels_outside_the_classes_of_the_loss_are_refused(case):
    loss = make_loss(case)
    embeddings, _ = make_batch([0, 1])
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.8"):
        loss(embeddings, torch.tensor([0, 9]))


def test_mfcwms_beta_defaults_to_alpha():
    loss = MeanFieldClassWiseMultiSimilarityLoss(4, 3, alpha=0.7)
    assert loss.beta == 0.7
    assert MeanFieldClassWiseMultiSimilarityLoss(4, 3, alpha=0.7, beta=5.0).beta == 5.0


def test_mfcwms_batch_terms_never_hold_a_class_by_class_matrix():
    num_classes, batch_size = 3000, 16
    torch.manual_seed(0)
    loss = MeanFieldClassWiseMultiSimilarityLoss(num_classes, 8, alpha=0.01, beta=80.0)
    embeddings = torch.randn(batch_size, 8, requires_grad=True)
    labels = torch.randint(0, num_classes, (batch_size,))
    labels[:4] = labels[4]  # a class with several items: the segmented path

    peak = cpu_peak_memory_bytes(lambda: loss(embeddings, labels).backward())
    class_by_class = num_classes * num_classes * 4
    assert peak < class_by_class / 20
