"""The paper's losses do not depend on the order of the batch nor on the names of the classes."""

from __future__ import annotations

import pytest
import torch

from benchmark.losses import (
    ClassWiseMultiSimilarityLoss,
    MeanFieldClassWiseMultiSimilarityLoss,
    MeanFieldContrastiveLoss,
)

NUM_CLASSES, EMBEDDING_SIZE = 10, 5
BATCHES = {
    "absent_and_singleton_classes": [0, 0, 0, 2, 2, 5, 7, 7, 7, 7, 3],
    "one_item_per_class": [4, 1, 8, 0, 6, 2, 9],
}


def make_losses() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    return {
        "cwms": ClassWiseMultiSimilarityLoss(alpha=2.0, beta=40.0, base=0.5),
        "mfcont": MeanFieldContrastiveLoss(
            NUM_CLASSES, EMBEDDING_SIZE, pos_margin=0.1, neg_margin=0.9, mf_reg=0.3
        ).double(),
        "mfcwms": MeanFieldClassWiseMultiSimilarityLoss(
            NUM_CLASSES, EMBEDDING_SIZE, alpha=2.0, beta=40.0, base=0.5, mf_reg=0.3
        ).double(),
    }


def make_batch(labels: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    embeddings = torch.randn(len(labels), EMBEDDING_SIZE, generator=generator, dtype=torch.float64)
    return embeddings, torch.tensor(labels)


@pytest.mark.parametrize("labels", BATCHES.values(), ids=BATCHES.keys())
@pytest.mark.parametrize("name", ["cwms", "mfcont", "mfcwms"])
def test_loss_does_not_depend_on_the_order_of_the_batch(name, labels):
    loss = make_losses()[name]
    embeddings, labels = make_batch(labels)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(
        loss(embeddings[order], labels[order]), loss(embeddings, labels), rtol=1e-12, atol=0
    )


@pytest.mark.parametrize("labels", BATCHES.values(), ids=BATCHES.keys())
@pytest.mark.parametrize("name", ["cwms", "mfcont", "mfcwms"])
def test_loss_does_not_depend_on_the_names_of_the_classes(name, labels):
    """Relabelling c -> renaming[c], with mean-field row c moved to row renaming[c]."""
    loss = make_losses()[name]
    embeddings, labels = make_batch(labels)
    expected = loss(embeddings, labels)
    renaming = torch.randperm(NUM_CLASSES, generator=torch.Generator().manual_seed(3))
    if hasattr(loss, "mean_fields"):
        with torch.no_grad():
            moved = torch.empty_like(loss.mean_fields)
            moved[renaming] = loss.mean_fields
            loss.mean_fields.copy_(moved)
    torch.testing.assert_close(loss(embeddings, renaming[labels]), expected, rtol=1e-12, atol=0)
