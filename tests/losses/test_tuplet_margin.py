"""Tuplet Margin is its paper's loss: the tuplet margin loss plus the weighted intra-pair variance
loss (Yu & Tao, ICCV 2019), written out here as direct loops over the batch's pairs in float64.

For each ordered positive pair (a, p), with theta its angle and beta the margin:
``log(1 + sum over a's negatives n of exp(s (cos(a, n) - cos(theta - beta))))``, averaged over
the positive pairs. The intra-pair variance loss: the mean over positive pairs of
``[(1 - eps_pos) mu_pos - cos(a, p)]_+^2`` plus the mean over negative pairs of
``[cos(a, n) - (1 + eps_neg) mu_neg]_+^2``, mu the batch means of those cosines.
"""

from __future__ import annotations

import math

import torch

from benchmark.losses import build_loss

PAPER = {"margin": 5.73, "scale": 64.0, "variance_weight": 0.5, "pos_eps": 0.01, "neg_eps": 0.01}
LABELS = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])  # MLRC's m = 4 images per class


def _cos(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    dot = sum(a * b for a, b in zip(x, y, strict=True))
    return dot / torch.sqrt(sum(a * a for a in x) * sum(b * b for b in y))


def paper_tuplet_margin(embeddings, labels, margin, scale, variance_weight, pos_eps, neg_eps):
    n = len(labels)
    pairs = [(a, b) for a in range(n) for b in range(n) if a != b]
    positives = [(a, b) for a, b in pairs if labels[a] == labels[b]]
    negatives = [(a, b) for a, b in pairs if labels[a] != labels[b]]
    cos = {(a, b): _cos(embeddings[a], embeddings[b]) for a, b in pairs}
    beta = math.radians(margin)

    tuplet = []
    for a, p in positives:
        shifted = torch.cos(torch.acos(cos[a, p]) - beta)
        terms = [torch.exp(scale * (cos[a, m] - shifted)) for a2, m in negatives if a2 == a]
        tuplet.append(torch.log(1 + sum(terms)))
    tuplet_loss = sum(tuplet) / len(tuplet)

    mu_pos = sum(cos[pair] for pair in positives) / len(positives)
    mu_neg = sum(cos[pair] for pair in negatives) / len(negatives)
    pos = [torch.clamp((1 - pos_eps) * mu_pos - cos[pair], min=0) ** 2 for pair in positives]
    neg = [torch.clamp(cos[pair] - (1 + neg_eps) * mu_neg, min=0) ** 2 for pair in negatives]
    variance_loss = sum(pos) / len(pos) + sum(neg) / len(neg)
    return tuplet_loss + variance_weight * variance_loss


def _embeddings() -> torch.Tensor:
    generator = torch.Generator().manual_seed(3)
    return torch.randn(len(LABELS), 6, generator=generator, dtype=torch.float64)


def _loss_and_gradient(loss, embeddings):
    embeddings = embeddings.clone().requires_grad_(True)
    value = loss(embeddings, LABELS)
    value.backward()
    return value, embeddings.grad


def test_tuplet_margin_is_the_papers_loss_with_the_intra_pair_variance_term():
    embeddings = _embeddings()
    module = build_loss("tuplet_margin", num_classes=3, embedding_size=6, **PAPER)
    ours, ours_grad = _loss_and_gradient(module, embeddings)
    reference, reference_grad = _loss_and_gradient(
        lambda e, labels: paper_tuplet_margin(e, labels.tolist(), **PAPER), embeddings
    )
    assert ours.dtype == torch.float64
    assert math.isclose(ours.item(), reference.item(), rel_tol=1e-10)
    torch.testing.assert_close(ours_grad, reference_grad, rtol=1e-9, atol=1e-12)
    # The variance term is not negligible: without it the value differs.
    alone = paper_tuplet_margin(embeddings, LABELS.tolist(), **{**PAPER, "variance_weight": 0.0})
    assert not math.isclose(ours.item(), alone.item(), rel_tol=1e-6)


def test_a_zero_variance_weight_is_the_tuplet_margin_loss_alone():
    embeddings = _embeddings()
    params = {**PAPER, "variance_weight": 0.0, "margin": 10.0, "scale": 32.0}
    module = build_loss("tuplet_margin", num_classes=3, embedding_size=6, **params)
    ours, _ = _loss_and_gradient(module, embeddings)
    reference = paper_tuplet_margin(embeddings, LABELS.tolist(), **params)
    assert math.isclose(ours.item(), reference.item(), rel_tol=1e-10)
