"""ClassWiseMultiSimilarity: equal to its definition (its docstring), and its gradients."""

from __future__ import annotations

import pytest
import torch
from paper_losses_by_definition import cwms_by_definition, random_batch
from torch.autograd import gradcheck

from benchmark.losses import ClassWiseMultiSimilarityLoss, build_loss, get_loss_spec

EMBEDDING_SIZE = 6

BATCHES = {
    "singleton_classes": [0, 0, 0, 2, 2, 5, 7, 7, 7, 7, 3],
    "one_item_per_class": [4, 1, 8, 0, 6, 2],
    "many_items_per_class": [1] * 5 + [3] * 5 + [6] * 5,
    "mlrc_eight_classes_of_four": [c for c in (9, 2, 4, 0, 7, 5, 1, 3) for _ in range(4)],
    "unsorted_sparse_labels": [40, 3, 40, 17, 3, 3, 1000],
}
SMALL_BATCHES = ["singleton_classes", "one_item_per_class", "many_items_per_class"]
HYPERPARAMETERS = {
    "ms_like": {"alpha": 2.0, "beta": 50.0, "base": 0.5},
    "published_mfcwms": {"alpha": 0.01, "beta": 80.0, "base": 0.8},
    "extreme": {"alpha": 200.0, "beta": 200.0, "base": 0.0},
    "base_one": {"alpha": 1.0, "beta": 3.0, "base": 1.0},
}


def make_batch(labels: list[int], seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    return random_batch(labels, EMBEDDING_SIZE, seed)


@pytest.mark.parametrize("hyperparameters", HYPERPARAMETERS.values(), ids=HYPERPARAMETERS.keys())
@pytest.mark.parametrize("labels", BATCHES.values(), ids=BATCHES.keys())
def test_cwms_equals_its_definition(labels, hyperparameters):
    embeddings, labels = make_batch(labels)
    loss = ClassWiseMultiSimilarityLoss(**hyperparameters)
    expected = cwms_by_definition(embeddings, labels, **hyperparameters)
    torch.testing.assert_close(loss(embeddings, labels), expected, rtol=1e-9, atol=0)


@pytest.mark.parametrize("labels", BATCHES.values(), ids=BATCHES.keys())
def test_cwms_gradients_equal_those_of_its_definition(labels):
    hyperparameters = {"alpha": 2.0, "beta": 20.0, "base": 0.5}
    embeddings, labels = make_batch(labels)
    embeddings.requires_grad_(True)
    loss = ClassWiseMultiSimilarityLoss(**hyperparameters)
    (ours,) = torch.autograd.grad(loss(embeddings, labels), embeddings)
    (expected,) = torch.autograd.grad(
        cwms_by_definition(embeddings, labels, **hyperparameters), embeddings
    )
    torch.testing.assert_close(ours, expected, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("labels", [BATCHES[name] for name in SMALL_BATCHES], ids=SMALL_BATCHES)
def test_cwms_passes_gradcheck(labels):
    embeddings, labels = make_batch(labels)
    loss = ClassWiseMultiSimilarityLoss(alpha=2.0, beta=10.0, base=0.5)
    assert gradcheck(lambda x: loss(x, labels), (embeddings.requires_grad_(),))


def test_cwms_is_pair_based_and_has_no_parameters():
    loss = build_loss("cwms", num_classes=10, embedding_size=4, alpha=1.0, beta=2.0, base=0.3)
    assert isinstance(loss, ClassWiseMultiSimilarityLoss)
    assert (loss.alpha, loss.beta, loss.base) == (1.0, 2.0, 0.3)
    assert list(loss.parameters()) == []
    assert get_loss_spec("cwms").kind == "pair"
