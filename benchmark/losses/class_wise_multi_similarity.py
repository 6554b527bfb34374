"""ClassWiseMultiSimilarity (CWMS): MultiSimilarity with pairs pooled per pair of classes."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from benchmark.losses._logspace import (
    compute_dtype,
    l2_normalize,
    masked_logsumexp,
    segment_logsumexp,
)
from benchmark.losses._registry import register_loss
from benchmark.losses._validation import check_hyperparameters


class ClassWiseMultiSimilarityLoss(torch.nn.Module):
    """The CWMS loss of "Mean Field Theory in Deep Metric Learning" (ICLR 2024).

    The pair-based loss whose mean-field approximation is MFCWMS. With ``s_ij`` the cosine
    similarity of batch items i and j, K the classes of the batch (N_B of them) and n_c the
    items of class c::

        P_c   = 1/n_c^2      sum_{i in c} sum_{j in c}  exp(-alpha (s_ij - base))   (i = j included)
        Q_cc' = 1/(n_c n_c') sum_{i in c} sum_{j in c'} exp( beta  (s_ij - base))
        L = 1/(alpha N_B) sum_{c in K} log(1 + P_c / 2)
          + 1/(2 beta N_B) sum_{c != c' in K} log(1 + Q_cc')

    as in the authors' implementation (self-pairs and the /2 included). Evaluated in log space:
    finite in float32 for alpha, beta up to 200 and base in [0, 1]. Memory O(B^2). Inputs in
    half precision are computed in float32.

    Args:
        alpha: the exponential weight (inverse temperature) of the positive pairs: how sharply
            dissimilar pairs of the same class are penalised.
        beta: the exponential weight of the negative pairs: how sharply pairs of different
            classes more similar than ``base`` are penalised.
        base: the similarity threshold (margin) that separates positive from negative
            similarities.
    """

    def __init__(self, alpha: float = 2.0, beta: float = 50.0, base: float = 0.5):
        super().__init__()
        check_hyperparameters(type(self).__name__, positive={"alpha": alpha, "beta": beta})
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.base = float(base)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, beta={self.beta}, base={self.base}"

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The loss of a batch: ``embeddings`` (B, D), ``labels`` (B,) of any integer values."""
        alpha, beta, base = self.alpha, self.beta, self.base
        with torch.autocast(device_type=embeddings.device.type, enabled=False):
            e = l2_normalize(embeddings.to(compute_dtype(embeddings)))
            classes, item_class, counts = torch.unique(
                labels, return_inverse=True, return_counts=True
            )
            num_batch_classes = classes.numel()
            log_counts = counts.to(e.dtype).log()
            similarity = e @ e.T
            same_class = item_class[:, None] == item_class[None, :]

            # log P_c: a logsumexp over the pairs (i, j) of class c, then the 1/n_c^2 and /2.
            pos_exponents = -alpha * (similarity - base)
            per_item = masked_logsumexp(pos_exponents, keep_mask=same_class, dim=1)
            log_p = (
                segment_logsumexp(per_item, item_class, num_batch_classes)
                - 2 * log_counts
                - math.log(2.0)
            )
            positive = F.softplus(log_p).sum() / alpha

            # log Q_cc': a logsumexp over the pairs of classes (c, c'), then the 1/(n_c n_c').
            neg_exponents = beta * (similarity - base)
            per_item_and_class = segment_logsumexp(
                neg_exponents, item_class, num_batch_classes, dim=1
            )
            log_q = (
                segment_logsumexp(per_item_and_class, item_class, num_batch_classes, dim=0)
                - log_counts[:, None]
                - log_counts[None, :]
            )
            same_class_pair = torch.eye(num_batch_classes, dtype=torch.bool, device=e.device)
            negative = F.softplus(log_q).masked_fill(same_class_pair, 0.0).sum() / (2 * beta)

            return (positive + negative) / num_batch_classes


@register_loss("cwms", display="CWMS", kind="pair")
def build_cwms(
    num_classes: int,
    embedding_size: int,
    alpha: float = 2.0,
    beta: float = 50.0,
    base: float = 0.5,
) -> ClassWiseMultiSimilarityLoss:
    """Class-wise MultiSimilarity (the paper's CWMS; pair-based, no parameters)."""
    return ClassWiseMultiSimilarityLoss(alpha=alpha, beta=beta, base=base)
