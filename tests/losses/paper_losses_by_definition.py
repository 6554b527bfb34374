"""The paper's losses written straight from their definitions, one term at a time.

The definitions (the authors' implementation, quirks included) are stated in the docstrings of
ClassWiseMultiSimilarityLoss, MeanFieldContrastiveLoss and MeanFieldClassWiseMultiSimilarityLoss
in benchmark/losses/.

Plain Python loops over items, classes and pairs of classes, with the exponentials taken
directly: slow, overflow-prone in float32, and independent of the vectorised log-space code in
benchmark/losses. The tests compare the two (in float64, where the direct formulas are exact).
Every function works on torch scalars, so autograd runs through it too.
"""

from __future__ import annotations

import torch


def normalized(rows: torch.Tensor) -> list[torch.Tensor]:
    return [row / torch.clamp(torch.linalg.vector_norm(row), min=1e-12) for row in rows]


def members_by_class(labels: list[int]) -> dict[int, list[int]]:
    members: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        members.setdefault(label, []).append(index)
    return members


def relu(value: torch.Tensor) -> torch.Tensor:
    return torch.clamp(value, min=0.0)


def cwms_by_definition(
    embeddings: torch.Tensor, labels: torch.Tensor, alpha: float, beta: float, base: float
) -> torch.Tensor:
    e = normalized(embeddings)
    members = members_by_class(labels.tolist())
    num_batch_classes = len(members)
    positive = 0.0
    for items in members.values():
        p = 0.0
        for i in items:
            for j in items:  # self-pairs i = j included (sic)
                p = p + torch.exp(-alpha * (torch.dot(e[i], e[j]) - base))
        p = p / len(items) ** 2
        positive = positive + torch.log(1 + p / 2)  # the /2 (sic)
    negative = 0.0
    for c, items_c in members.items():
        for c2, items_c2 in members.items():
            if c == c2:
                continue
            q = 0.0
            for i in items_c:
                for j in items_c2:
                    q = q + torch.exp(beta * (torch.dot(e[i], e[j]) - base))
            q = q / (len(items_c) * len(items_c2))
            negative = negative + torch.log(1 + q)
    return positive / (alpha * num_batch_classes) + negative / (2 * beta * num_batch_classes)


def mfcont_by_definition(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    mean_fields: torch.Tensor,
    pos_margin: float,
    neg_margin: float,
    mf_reg: float,
    mf_power: float,
) -> torch.Tensor:
    e = normalized(embeddings)
    m = normalized(mean_fields)
    num_classes = len(m)
    total = 0.0
    for i, label in enumerate(labels.tolist()):
        total = total + relu((1 - torch.dot(e[i], m[label])) - pos_margin)
        for c in range(num_classes):
            if c != label:
                total = total + relu(neg_margin - (1 - torch.dot(e[i], m[c])))
    loss = total / len(e)
    regularizer = 0.0
    for c in range(num_classes):
        for c2 in range(num_classes):
            if c != c2:
                regularizer = (
                    regularizer + relu(neg_margin - (1 - torch.dot(m[c], m[c2]))) ** mf_power
                )
    return loss + mf_reg / num_classes * regularizer


def mfcwms_by_definition(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    mean_fields: torch.Tensor,
    alpha: float,
    beta: float,
    base: float,
    mf_reg: float,
    mf_power: float,
) -> torch.Tensor:
    e = normalized(embeddings)
    m = normalized(mean_fields)
    num_classes = len(m)
    members = members_by_class(labels.tolist())
    num_batch_classes = len(members)
    zero = embeddings.new_zeros(())

    p = {}
    q = {}  # q[c][c2] = Q_cc2 for every class c (zero rows for classes absent from the batch)
    for c in range(num_classes):
        items = members.get(c, [])
        q[c] = {}
        for c2 in range(num_classes):
            q[c][c2] = zero
            for i in items:
                q[c][c2] = q[c][c2] + torch.exp(beta * (torch.dot(e[i], m[c2]) - base))
            if items:
                q[c][c2] = q[c][c2] / len(items)
        if items:
            p[c] = sum(torch.exp(-alpha * (torch.dot(e[i], m[c]) - base)) for i in items) / len(
                items
            )

    positive = sum(torch.log(1 + p_c) for p_c in p.values())  # no /2 here (sic)
    negative = 0.0
    for c in range(num_classes):  # ordered pairs over all C classes (sic)
        for c2 in range(num_classes):
            if c != c2:
                negative = negative + torch.log(1 + q[c][c2] + q[c2][c])
    regularizer = 0.0
    for c in range(num_classes):
        for c2 in range(num_classes):
            if c != c2:
                softplus = torch.log(1 + torch.exp(beta * (torch.dot(m[c], m[c2]) - base))) / beta
                regularizer = regularizer + softplus**mf_power
    return (
        positive / (alpha * num_batch_classes)
        + negative / (2 * beta * num_batch_classes)
        + mf_reg / num_classes * regularizer
    )


def random_batch(
    labels: list[int], embedding_size: int, seed: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """Float64 Gaussian embeddings for ``labels`` (deterministic in ``seed``)."""
    generator = torch.Generator().manual_seed(seed)
    embeddings = torch.randn(len(labels), embedding_size, generator=generator, dtype=torch.float64)
    return embeddings, torch.tensor(labels)
