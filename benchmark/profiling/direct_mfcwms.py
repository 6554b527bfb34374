"""MFCWMS written directly from its definition: the reference ``mlrc profile losses`` measures."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from benchmark.losses import MeanFieldClassWiseMultiSimilarityLoss
from benchmark.losses._logspace import l2_normalize


class DirectMeanFieldCWMS(torch.nn.Module):
    """MFCWMS written directly from its definition, with the full C x C matrix Q.

    The reference that ``mlrc profile losses`` compares MFCWMS with: the same mean fields (it
    wraps the MFCWMS module), the same value, but ``Q`` (C x C, zero rows for classes absent
    from the batch) and ``log(1 + Q + Q^T)`` materialised, and exponentials taken directly
    (finite only where ``beta (1 - base)`` stays below ~88 in float32).
    """

    def __init__(self, loss: MeanFieldClassWiseMultiSimilarityLoss):
        super().__init__()
        self.loss = loss

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        loss = self.loss
        alpha, beta, base = loss.alpha, loss.beta, loss.base
        num_classes = loss.num_classes
        e = l2_normalize(embeddings)
        m = l2_normalize(loss.mean_fields)
        similarity = e @ m.T  # (B, C)
        counts = torch.bincount(labels, minlength=num_classes).to(e.dtype)
        present = counts > 0
        num_batch_classes = present.sum()

        own = similarity.gather(1, labels[:, None]).squeeze(1)
        p = torch.zeros_like(counts).index_add(0, labels, torch.exp(-alpha * (own - base)))
        p = p / counts.clamp(min=1)
        positive = torch.log1p(p[present]).sum() / alpha

        q = torch.zeros(num_classes, num_classes, dtype=e.dtype, device=e.device)
        q = q.index_add(0, labels, torch.exp(beta * (similarity - base)))
        q = q / counts.clamp(min=1)[:, None]
        pair_terms = torch.log1p(q + q.T)
        negative = (pair_terms.sum() - pair_terms.diagonal().sum()) / (2 * beta)

        value = (positive + negative) / num_batch_classes
        if loss.mf_reg > 0:
            gram = m @ m.T
            terms = F.softplus(gram - base, beta=beta) ** loss.mf_power
            value = value + loss.mf_reg / num_classes * (terms.sum() - terms.diagonal().sum())
        return value
