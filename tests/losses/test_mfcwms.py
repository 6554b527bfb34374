"""MeanFieldClassWiseMultiSimilarity: equal to its definition (its docstring), gradients, memory."""

from __future__ import annotations

import pytest
import torch
from paper_losses_by_definition import mfcwms_by_definition, random_batch
from torch.autograd import gradcheck
from torch.func import functional_call

from benchmark.losses import MeanFieldClassWiseMultiSimilarityLoss, build_loss
from benchmark.losses._logspace import off_diagonal_pair_sum
from benchmark.profiling.measure import cpu_peak_memory_bytes

NUM_CLASSES, EMBEDDING_SIZE = 9, 6

BATCHES = {
    # classes 1, 4, 6, 8 absent; 3 and 5 singletons; 7 with four items
    "absent_and_singleton_classes": [0, 0, 0, 2, 2, 5, 7, 7, 7, 7, 3],
    "one_item_per_class": [4, 1, 8, 0, 6, 2],
    "many_items_per_class": [1] * 5 + [3] * 5 + [6] * 5,
}
HYPERPARAMETERS = {
    "ms_like": {"alpha": 2.0, "beta": 50.0, "base": 0.5},
    "published": {"alpha": 0.01, "beta": 80.0, "base": 0.8},
    "extreme": {"alpha": 200.0, "beta": 200.0, "base": 0.0},
}
REGULARIZERS = {
    "no_regularizer": {"mf_reg": 0.0},
    "regularizer_power_1": {"mf_reg": 0.3, "mf_power": 1.0},
    "regularizer_power_2": {"mf_reg": 0.7, "mf_power": 2.0},
}


def make_loss(seed: int = 0, **hyperparameters) -> MeanFieldClassWiseMultiSimilarityLoss:
    torch.manual_seed(seed)
    loss = MeanFieldClassWiseMultiSimilarityLoss(NUM_CLASSES, EMBEDDING_SIZE, **hyperparameters)
    return loss.double()


def make_batch(labels: list[int], seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    return random_batch(labels, EMBEDDING_SIZE, seed)


def by_definition(loss, embeddings, labels):
    return mfcwms_by_definition(
        embeddings,
        labels,
        loss.mean_fields,
        alpha=loss.alpha,
        beta=loss.beta,
        base=loss.base,
        mf_reg=loss.mf_reg,
        mf_power=loss.mf_power,
    )


@pytest.mark.parametrize("regularizer", REGULARIZERS.values(), ids=REGULARIZERS.keys())
@pytest.mark.parametrize("hyperparameters", HYPERPARAMETERS.values(), ids=HYPERPARAMETERS.keys())
@pytest.mark.parametrize("labels", BATCHES.values(), ids=BATCHES.keys())
def test_mfcwms_equals_its_definition(labels, hyperparameters, regularizer):
    loss = make_loss(**hyperparameters, **regularizer)
    embeddings, labels = make_batch(labels)
    with torch.no_grad():
        expected = by_definition(loss, embeddings, labels)
        torch.testing.assert_close(loss(embeddings, labels), expected, rtol=1e-9, atol=0)


@pytest.mark.parametrize("labels", BATCHES.values(), ids=BATCHES.keys())
def test_mfcwms_gradients_equal_those_of_its_definition(labels):
    loss = make_loss(alpha=2.0, beta=20.0, base=0.5, mf_reg=0.4)
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
def test_mfcwms_passes_gradcheck_for_embeddings_and_mean_fields(labels, mf_reg):
    loss = make_loss(alpha=2.0, beta=10.0, base=0.5, mf_reg=mf_reg)
    embeddings, labels = make_batch(labels)
    mean_fields = loss.mean_fields.detach().clone()

    def value(embeddings, mean_fields):
        return functional_call(loss, {"mean_fields": mean_fields}, (embeddings, labels))

    assert gradcheck(value, (embeddings.requires_grad_(), mean_fields.requires_grad_()))


def test_beta_defaults_to_alpha():
    loss = MeanFieldClassWiseMultiSimilarityLoss(4, 3, alpha=0.7)
    assert loss.beta == 0.7
    assert MeanFieldClassWiseMultiSimilarityLoss(4, 3, alpha=0.7, beta=5.0).beta == 5.0


def test_mean_fields_are_one_gaussian_row_per_class_drawn_from_the_global_seed():
    torch.manual_seed(3)
    first = build_loss("mfcwms", num_classes=7, embedding_size=5)
    torch.manual_seed(3)
    second = build_loss("mfcwms", num_classes=7, embedding_size=5)
    assert isinstance(first, MeanFieldClassWiseMultiSimilarityLoss)
    assert first.mean_fields.shape == (7, 5) and first.mean_fields.requires_grad
    assert torch.equal(first.mean_fields, second.mean_fields)


def test_regularizer_is_not_computed_when_mf_reg_is_zero():
    loss = make_loss(mf_reg=0.0)

    def fail(*args):
        raise AssertionError("the O(C^2) regulariser ran with mf_reg = 0")

    loss.mean_field_regularizer = fail
    loss(*make_batch(BATCHES["one_item_per_class"]))


def test_labels_outside_the_classes_of_the_loss_are_refused():
    loss = make_loss()
    embeddings, _ = make_batch([0, 1])
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.8"):
        loss(embeddings, torch.tensor([0, 9]))


def test_batch_terms_never_hold_a_class_by_class_matrix():
    num_classes, batch_size = 3000, 16
    torch.manual_seed(0)
    loss = MeanFieldClassWiseMultiSimilarityLoss(num_classes, 8, alpha=0.01, beta=80.0)
    embeddings = torch.randn(batch_size, 8, requires_grad=True)
    labels = torch.randint(0, num_classes, (batch_size,))
    labels[:4] = labels[4]  # a class with several items: the segmented path

    peak = cpu_peak_memory_bytes(lambda: loss(embeddings, labels).backward())
    class_by_class = num_classes * num_classes * 4
    assert peak < class_by_class / 20


def test_regularizer_blocks_keep_memory_below_a_class_by_class_matrix():
    num_classes, block_rows = 3000, 100
    vectors = torch.nn.functional.normalize(torch.randn(num_classes, 8), dim=1)
    vectors.requires_grad_(True)

    def step():
        off_diagonal_pair_sum(
            vectors, lambda s: torch.nn.functional.softplus(s), block_rows
        ).backward()

    peak = cpu_peak_memory_bytes(step)
    assert peak < num_classes * num_classes * 4 / 5


@pytest.mark.parametrize("block_rows", [1, 2, 4, None])
def test_regularizer_blocks_sum_to_the_full_matrix(block_rows):
    vectors = torch.randn(7, 3, dtype=torch.float64)
    full = torch.exp(vectors @ vectors.T)
    expected = full.sum() - full.diagonal().sum()
    got = off_diagonal_pair_sum(vectors, torch.exp, block_rows)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=0)
