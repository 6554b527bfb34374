"""MeanFieldClassWiseMultiSimilarity (MFCWMS): CWMS with each class replaced by its mean field."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from benchmark.losses._logspace import masked_logsumexp, row_inverse_norms, segment_logsumexp
from benchmark.losses._mean_field_loss import MeanFieldLoss
from benchmark.losses._registry import register_loss
from benchmark.losses._validation import check_labels


@register_loss("mfcwms", display="MFCWMS", kind="classification", has_parameters=True)
class MeanFieldClassWiseMultiSimilarityLoss(MeanFieldLoss):
    """The MFCWMS loss of "Mean Field Theory in Deep Metric Learning" (ICLR 2024).

    With ``e_i`` the normalised embeddings, ``m_c`` the normalised mean fields, ``s_ic = e_i . m_c``,
    K the classes of the batch (N_B of them) and n_c the items of class c::

        P_c   = 1/n_c sum_{i in c} exp(-alpha (s_ic - base))
        Q_cc' = 1/n_c sum_{i in c} exp( beta  (s_ic' - base))   (0 for c not in K)
        L = 1/(alpha N_B) sum_{c in K} log(1 + P_c)
          + 1/(2 beta N_B) sum_{c != c', all C classes} log(1 + Q_cc' + Q_c'c)
          + mf_reg / C sum_{c != c'} softplus_beta(m_c . m_c' - base)^mf_power

    as in the authors' implementation (each unordered pair counted twice, normaliser N_B).
    Everything is evaluated in log space (finite in float32 for alpha, beta up to 200 and base
    in [0, 1]) and the batch terms only touch the (N_B, C) block of Q: memory O(B C), never
    O(C^2). Inputs in half precision are computed in float32.

    Args:
        num_classes: C, the number of classes of the training split (labels are 0..C-1).
        embedding_size: D, the size of the embeddings.
        alpha: the exponential weight (inverse temperature) of the positive term: how sharply
            items far from their own class's mean field are penalised.
        beta: the exponential weight of the negative term: how sharply items more similar than
            ``base`` to the mean fields of other classes are penalised. ``None`` uses ``alpha``.
        base: the similarity threshold (margin) that separates positive from negative
            similarities.
        mf_reg: gamma, the weight of the regulariser that pushes mean fields of different
            classes apart; 0 switches it off (and skips its O(C^2) cost).
        mf_power: p >= 1, the power applied to each regulariser term.

    Attributes:
        mean_fields: the (C, D) learnable mean fields (row c is the transpose of column c of the
            paper's M), initialised i.i.d. N(0, 1); rows are normalised whenever used.
    """

    def __init__(
        self,
        num_classes: int,
        embedding_size: int,
        alpha: float = 0.01,
        beta: float | None = None,
        base: float = 0.8,
        mf_reg: float = 0.0,
        mf_power: float = 2.0,
    ):
        beta = alpha if beta is None else beta
        super().__init__(
            num_classes, embedding_size, mf_reg, mf_power, positive={"alpha": alpha, "beta": beta}
        )
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.base = float(base)

    def extra_repr(self) -> str:
        return (
            f"num_classes={self.num_classes}, embedding_size={self.embedding_size}, "
            f"alpha={self.alpha}, beta={self.beta}, base={self.base}, "
            f"mf_reg={self.mf_reg}, mf_power={self.mf_power}"
        )

    def batch_terms(
        self, e: torch.Tensor, mean_fields: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        alpha, beta, base = self.alpha, self.beta, self.base
        classes, item_class, counts = torch.unique(labels, return_inverse=True, return_counts=True)
        check_labels(classes, self.num_classes)
        num_batch_classes = classes.numel()

        # beta * (s_ic' - base) for every item and every class: one (B, C) matmul, then each
        # column scaled by beta / ||M_c'|| (cheaper than normalising the (C, D) mean fields).
        inverse_norms = row_inverse_norms(mean_fields)
        neg_exponents = torch.addcmul(
            e.new_tensor(-beta * base), e @ mean_fields.T, inverse_norms, value=beta
        )
        own_similarity = (e * mean_fields[labels]).sum(dim=1) * inverse_norms[labels]
        pos_exponents = -alpha * (own_similarity - base)

        if num_batch_classes == labels.numel():
            # One item per class (the MLRC composition): item i is row i of the class block.
            batch_classes = labels
            log_p = pos_exponents
            log_q = neg_exponents
        else:
            batch_classes = classes
            log_counts = counts.to(e.dtype).log()
            log_p = segment_logsumexp(pos_exponents, item_class, num_batch_classes) - log_counts
            log_q = (
                segment_logsumexp(neg_exponents, item_class, num_batch_classes, dim=0)
                - log_counts[:, None]
            )
        # log_q[k, c'] = log Q_{c_k, c'}: the (N_B, C) block of Q, the only part that is non-zero.

        positive = F.softplus(log_p).sum() / alpha

        # Pairs (c in batch, c' not in batch) occur twice among the ordered pairs, each giving
        # log(1 + Q_cc'); pairs inside the batch occur twice giving log(1 + Q_cc' + Q_c'c).
        outside = torch.ones(self.num_classes, dtype=e.dtype, device=e.device)
        outside[batch_classes] = 0
        negative_outside = 2 * (F.softplus(log_q) @ outside).sum()
        log_q_inside = log_q[:, batch_classes]
        off_diagonal = ~torch.eye(num_batch_classes, dtype=torch.bool, device=e.device)
        negative_inside = masked_logsumexp(
            torch.stack([log_q_inside, log_q_inside.T], dim=-1),
            keep_mask=off_diagonal[..., None],
            add_one=True,
        ).sum()
        negative = (negative_outside + negative_inside) / (2 * beta)

        return (positive + negative) / num_batch_classes

    def regularizer_pair_term(self, similarity: torch.Tensor) -> torch.Tensor:
        """``softplus_beta(m_c . m_c' - base)``."""
        return F.softplus(similarity - self.base, beta=self.beta)
