"""Finite losses and gradients in float32 over the whole search range, collapsed batches included.

The exponents of CWMS and MFCWMS reach alpha (1 + base) and beta (1 - base): e^400 at the edge
of the search ranges, far beyond float32 (e^88). Each collapsed batch below is checked to make
the direct formula (paper_losses_by_definition.py) overflow, so that passing here means something.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from paper_losses_by_definition import cwms_by_definition, mfcwms_by_definition

from benchmark.losses import (
    ClassWiseMultiSimilarityLoss,
    MeanFieldClassWiseMultiSimilarityLoss,
    MeanFieldContrastiveLoss,
    build_loss,
)

NUM_CLASSES, EMBEDDING_SIZE = 6, 4
BATCH_LABELS = {
    "repeated_classes": torch.tensor([0, 0, 0, 1, 1, 2, 4]),  # 3 and 5 absent, 2 and 4 singletons
    "one_item_per_class": torch.tensor([0, 1, 2, 4, 5]),  # 3 absent
}
WEIGHTS = [0.01, 1.0, 50.0, 100.0, 200.0]  # alpha and beta
BASES = [0.0, 0.5, 1.0]
COLLAPSED = [
    "on_another_class_mean_field",
    "opposite_to_own_mean_field",
    "all_equal",
    "pairs_exactly_opposite",
    "zero_embeddings",
]
# Batches on which the direct CWMS formula overflows (the others collapse only mean fields).
COLLAPSED_FOR_CWMS = ["all_equal", "pairs_exactly_opposite", "zero_embeddings"]


def collapsed_batch(kind: str, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(embeddings, mean fields) in float32 whose cosines hit exactly +1, -1 or 0."""
    generator = torch.Generator().manual_seed(0)
    mean_fields = torch.randn(NUM_CLASSES, EMBEDDING_SIZE, generator=generator)
    if kind == "on_another_class_mean_field":
        embeddings = 2.5 * mean_fields[(labels + 1) % NUM_CLASSES]
    elif kind == "opposite_to_own_mean_field":
        embeddings = -3.0 * mean_fields[labels]
    elif kind == "all_equal":
        mean_fields[:] = mean_fields[0]
        embeddings = mean_fields[0].expand(len(labels), -1).clone()
    elif kind == "pairs_exactly_opposite":
        # items v, -v, w, -w, v, -v, ...: consecutive items exactly opposite, every other equal;
        # each class's mean field is its first item, so later items sit at +1 or -1 from it.
        v, w = mean_fields[0].clone(), mean_fields[1].clone()
        embeddings = torch.stack(
            [(-1) ** i * (v if (i // 2) % 2 == 0 else w) for i in range(len(labels))]
        )
        for i in reversed(range(len(labels))):
            mean_fields[labels[i]] = embeddings[i]
    elif kind == "zero_embeddings":
        embeddings = torch.randn(len(labels), EMBEDDING_SIZE, generator=generator)
        embeddings[[0, 1, 3]] = 0.0
    else:
        raise ValueError(kind)
    return embeddings, mean_fields


def value_and_gradients(loss: torch.nn.Module, embeddings, labels, mean_fields):
    embeddings = embeddings.clone().requires_grad_(True)
    if mean_fields is not None:
        with torch.no_grad():
            loss.mean_fields.copy_(mean_fields)
        loss.mean_fields.grad = None
    value = loss(embeddings, labels)
    value.backward()
    gradients = [embeddings.grad] + [p.grad for p in loss.parameters()]
    return value, gradients


def is_finite(value, gradients) -> bool:
    return bool(torch.isfinite(value)) and all(bool(torch.isfinite(g).all()) for g in gradients)


@pytest.mark.parametrize("kind", COLLAPSED)
@pytest.mark.parametrize("labels", BATCH_LABELS.values(), ids=BATCH_LABELS.keys())
def test_mfcwms_is_finite_in_float32_over_the_search_range(labels, kind):
    embeddings, mean_fields = collapsed_batch(kind, labels)
    failures = []
    for alpha, beta, base in itertools.product(WEIGHTS, WEIGHTS, BASES):
        loss = MeanFieldClassWiseMultiSimilarityLoss(
            NUM_CLASSES, EMBEDDING_SIZE, alpha=alpha, beta=beta, base=base, mf_reg=0.5
        )
        value, gradients = value_and_gradients(loss, embeddings, labels, mean_fields)
        assert value.dtype == torch.float32
        if not is_finite(value, gradients):
            failures.append((alpha, beta, base))
    assert failures == []


@pytest.mark.parametrize("kind", COLLAPSED)
@pytest.mark.parametrize("labels", BATCH_LABELS.values(), ids=BATCH_LABELS.keys())
def test_cwms_is_finite_in_float32_over_the_search_range(labels, kind):
    embeddings, _ = collapsed_batch(kind, labels)
    failures = []
    for alpha, beta, base in itertools.product(WEIGHTS, WEIGHTS, BASES):
        loss = ClassWiseMultiSimilarityLoss(alpha=alpha, beta=beta, base=base)
        value, gradients = value_and_gradients(loss, embeddings, labels, None)
        assert value.dtype == torch.float32
        if not is_finite(value, gradients):
            failures.append((alpha, beta, base))
    assert failures == []


@pytest.mark.parametrize("kind", COLLAPSED)
@pytest.mark.parametrize("labels", BATCH_LABELS.values(), ids=BATCH_LABELS.keys())
def test_mfcont_is_finite_in_float32_on_collapsed_batches(labels, kind):
    embeddings, mean_fields = collapsed_batch(kind, labels)
    failures = []
    for pos_margin, neg_margin, mf_power in itertools.product(
        [0.0, 0.02, 1.0], [0.0, 0.3, 2.0], [1.0, 2.0]
    ):
        loss = MeanFieldContrastiveLoss(
            NUM_CLASSES, EMBEDDING_SIZE, pos_margin, neg_margin, mf_reg=0.5, mf_power=mf_power
        )
        value, gradients = value_and_gradients(loss, embeddings, labels, mean_fields)
        if not is_finite(value, gradients):
            failures.append((pos_margin, neg_margin, mf_power))
    assert failures == []


EXTREME_CORNERS = [(200.0, 200.0, 0.0), (200.0, 200.0, 1.0)]


@pytest.mark.parametrize("kind", COLLAPSED)
@pytest.mark.parametrize("labels", BATCH_LABELS.values(), ids=BATCH_LABELS.keys())
def test_direct_mfcwms_formula_overflows_in_float32_on_these_batches(labels, kind):
    embeddings, mean_fields = collapsed_batch(kind, labels)
    direct = [
        mfcwms_by_definition(embeddings, labels, mean_fields, a, b, base, mf_reg=0.0, mf_power=2)
        for a, b, base in EXTREME_CORNERS
    ]
    assert not all(torch.isfinite(value) for value in direct)


@pytest.mark.parametrize("kind", COLLAPSED_FOR_CWMS)
@pytest.mark.parametrize("labels", BATCH_LABELS.values(), ids=BATCH_LABELS.keys())
def test_direct_cwms_formula_overflows_in_float32_on_these_batches(labels, kind):
    embeddings, _ = collapsed_batch(kind, labels)
    direct = [cwms_by_definition(embeddings, labels, a, b, base) for a, b, base in EXTREME_CORNERS]
    assert not all(torch.isfinite(value) for value in direct)


def test_extreme_values_match_the_direct_formula_in_float64():
    """Where float64 holds the direct formula, the log-space result is the same number."""
    labels = BATCH_LABELS["repeated_classes"]
    batch = collapsed_batch("on_another_class_mean_field", labels)
    embeddings, mean_fields = (t.double() for t in batch)
    loss = MeanFieldClassWiseMultiSimilarityLoss(
        NUM_CLASSES, EMBEDDING_SIZE, alpha=200.0, beta=200.0, base=0.0, mf_reg=0.5
    ).double()
    value, _ = value_and_gradients(loss, embeddings, labels, mean_fields)
    expected = mfcwms_by_definition(
        embeddings, labels, mean_fields, 200.0, 200.0, 0.0, mf_reg=0.5, mf_power=2.0
    )
    torch.testing.assert_close(value.detach(), expected, rtol=1e-9, atol=0)


@pytest.mark.parametrize("name", ["cwms", "mfcont", "mfcwms"])
def test_losses_compute_in_float32_under_autocast_and_for_half_inputs(name):
    torch.manual_seed(0)
    loss = build_loss(name, num_classes=NUM_CLASSES, embedding_size=EMBEDDING_SIZE)
    labels = BATCH_LABELS["repeated_classes"]
    embeddings = torch.randn(len(labels), EMBEDDING_SIZE)
    expected = loss(embeddings, labels)

    with torch.autocast("cpu", dtype=torch.bfloat16):
        under_autocast = loss(embeddings, labels)
    assert under_autocast.dtype == torch.float32
    torch.testing.assert_close(under_autocast, expected)

    half = embeddings.half()
    from_half = loss(half, labels)
    assert from_half.dtype == torch.float32
    torch.testing.assert_close(from_half, loss(half.float(), labels))
