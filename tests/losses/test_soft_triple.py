"""SoftTriple as MLRC ran it: the loss, regulariser included, equals the formula of the PML
version of MLRC's runs (PML 0.9.x up to v0.9.86), written out here as direct loops in float64.

That version's SoftTripleLoss (pytorch-metric-learning ``losses/soft_triple_loss.py`` from
c30fd65 to 96256b4^) returned the mean cross-entropy over the batch plus ``reg_weight`` times
``sum(sqrt(2 + 1e-5 - 2 cos)) / sum(same_class_mask)`` over the pairs of centers of one class.
PML 96256b4 (2020-06-12) doubled that denominator; today's SparseCentersRegularizer keeps it.
"""

from __future__ import annotations

import math

import torch
from pytorch_metric_learning import regularizers as pml_regularizers

from benchmark.losses import build_loss
from benchmark.losses.pml_wrappers import MLRCSparseCentersRegularizer

# MLRC's published SoftTriple optimum on CUB200 (batch 32).
MLRC_CUB = {"la": 78.02, "gamma": 58.95, "reg_weight": 0.3754, "margin": 0.4307}
NUM_CLASSES, CENTERS_PER_CLASS, EMBEDDING_SIZE, BATCH = 3, 4, 5, 8


def _unit(vector: torch.Tensor) -> torch.Tensor:
    return vector / torch.sqrt(sum(v * v for v in vector))


def mlrc_center_distance(centers: torch.Tensor, k: int) -> torch.Tensor:
    """The mean over same-class pairs of centers (columns) of sqrt(2 + 1e-5 - 2 cos)."""
    unit = [_unit(centers[:, j]) for j in range(centers.shape[1])]
    terms = []
    for cls in range(centers.shape[1] // k):
        for a in range(k):
            for b in range(a + 1, k):
                cos = sum(x * y for x, y in zip(unit[cls * k + a], unit[cls * k + b], strict=True))
                terms.append(torch.sqrt(2.0 + 1e-5 - 2.0 * cos))
    return sum(terms) / len(terms)


def mlrc_soft_triple(embeddings, centers, labels, k, la, gamma, reg_weight, margin):
    """PML 0.9.x SoftTripleLoss: mean cross-entropy of la * (class similarity - margin on the
    true class), the class similarity a softmax(sim / gamma)-weighted mean over its centers."""
    unit_centers = [_unit(centers[:, j]) for j in range(centers.shape[1])]
    losses = []
    for i in range(embeddings.shape[0]):
        e = _unit(embeddings[i])
        logits = []
        for cls in range(centers.shape[1] // k):
            sims = [
                sum(x * y for x, y in zip(e, c, strict=True))
                for c in unit_centers[cls * k : (cls + 1) * k]
            ]
            weights = [torch.exp(s / gamma) for s in sims]
            similarity = sum(w * s for w, s in zip(weights, sims, strict=True)) / sum(weights)
            logits.append(la * (similarity - (margin if cls == labels[i] else 0.0)))
        log_normaliser = torch.log(sum(torch.exp(z) for z in logits))
        losses.append(log_normaliser - logits[int(labels[i])])
    return sum(losses) / len(losses) + reg_weight * mlrc_center_distance(centers, k)


def _inputs():
    generator = torch.Generator().manual_seed(7)
    embeddings = torch.randn(BATCH, EMBEDDING_SIZE, generator=generator, dtype=torch.float64)
    centers = torch.randn(
        EMBEDDING_SIZE, NUM_CLASSES * CENTERS_PER_CLASS, generator=generator, dtype=torch.float64
    )
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 0, 1])
    return embeddings, centers, labels


def test_soft_triple_loss_and_gradients_are_those_of_mlrcs_pml_version():
    embeddings, centers, labels = _inputs()
    module = build_loss(
        "soft_triple",
        num_classes=NUM_CLASSES,
        embedding_size=EMBEDDING_SIZE,
        centers_per_class=CENTERS_PER_CLASS,
        **MLRC_CUB,
    ).double()
    module.fc.data = centers.clone()
    ours_embeddings = embeddings.clone().requires_grad_(True)
    ours = module(ours_embeddings, labels)
    ours.backward()

    ref_embeddings = embeddings.clone().requires_grad_(True)
    ref_centers = centers.clone().requires_grad_(True)
    reference = mlrc_soft_triple(ref_embeddings, ref_centers, labels, CENTERS_PER_CLASS, **MLRC_CUB)
    reference.backward()

    assert ours.dtype == torch.float64
    assert math.isclose(ours.item(), reference.item(), rel_tol=1e-12)
    torch.testing.assert_close(ours_embeddings.grad, ref_embeddings.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(module.fc.grad, ref_centers.grad, rtol=1e-10, atol=1e-12)


def test_the_regulariser_is_the_mean_center_distance_twice_todays_pml_value():
    _, centers, _ = _inputs()
    ours = MLRCSparseCentersRegularizer(NUM_CLASSES, CENTERS_PER_CLASS)(centers.t())
    reference = mlrc_center_distance(centers, CENTERS_PER_CLASS)
    assert math.isclose(ours.item(), reference.item(), rel_tol=1e-12)
    # Today's PML divides by twice the number of pairs (and puts no 1e-5 under the root).
    todays = pml_regularizers.SparseCentersRegularizer(NUM_CLASSES, CENTERS_PER_CLASS)
    assert math.isclose(ours.item() / todays(centers.t()).item(), 2.0, rel_tol=1e-4)


def test_one_center_per_class_has_no_regulariser_as_mlrcs_version():
    module = build_loss(
        "soft_triple", num_classes=4, embedding_size=3, centers_per_class=1, reg_weight=0.5
    )
    assert module.weight_regularizer is None
