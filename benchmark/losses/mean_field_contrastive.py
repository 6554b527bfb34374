"""MeanFieldContrastive (MFCont): the contrastive loss with each class replaced by its mean field."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from benchmark.losses._logspace import row_inverse_norms
from benchmark.losses._mean_field_loss import MeanFieldLoss
from benchmark.losses._registry import register_loss
from benchmark.losses._validation import check_labels


@register_loss("mfcont", display="MFCont.", kind="classification", has_parameters=True)
class MeanFieldContrastiveLoss(MeanFieldLoss):
    """The MFCont loss of "Mean Field Theory in Deep Metric Learning" (ICLR 2024).

    With ``e_i`` the normalised embeddings, ``m_c`` the normalised mean fields and the cosine
    distances ``d_ic = 1 - e_i . m_c``, ``D_cc' = 1 - m_c . m_c'``::

        L = 1/B sum_i [ relu(d_{i,y_i} - pos_margin) + sum_{c != y_i, all C} relu(neg_margin - d_ic) ]
          + mf_reg / C sum_{c != c'} relu(neg_margin - D_cc')^mf_power

    Memory O(B C) for the batch terms (one (B, C) similarity matrix); the regulariser is
    skipped when ``mf_reg`` is 0 and otherwise computed in row blocks, never as a (C, C) matrix.
    Inputs in half precision are computed in float32.

    Args:
        num_classes: C, the number of classes of the training split (labels are 0..C-1).
        embedding_size: D, the size of the embeddings.
        pos_margin: m_p, the cosine distance to its own mean field below which an item is not
            penalised.
        neg_margin: m_n, the cosine distance to other classes' mean fields (and between mean
            fields) below which a pair is penalised.
        mf_reg: gamma, the weight of the regulariser that keeps mean fields of different
            classes at least ``neg_margin`` apart; 0 switches it off.
        mf_power: p >= 1, the power applied to each regulariser term.

    Attributes:
        mean_fields: the (C, D) learnable mean fields, initialised i.i.d. N(0, 1); rows are
            normalised whenever used.
    """

    def __init__(
        self,
        num_classes: int,
        embedding_size: int,
        pos_margin: float = 0.02,
        neg_margin: float = 0.3,
        mf_reg: float = 0.0,
        mf_power: float = 2.0,
    ):
        super().__init__(num_classes, embedding_size, mf_reg, mf_power)
        self.pos_margin = float(pos_margin)
        self.neg_margin = float(neg_margin)

    def extra_repr(self) -> str:
        return (
            f"num_classes={self.num_classes}, embedding_size={self.embedding_size}, "
            f"pos_margin={self.pos_margin}, neg_margin={self.neg_margin}, "
            f"mf_reg={self.mf_reg}, mf_power={self.mf_power}"
        )

    def batch_terms(
        self, e: torch.Tensor, mean_fields: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        check_labels(labels.unique(), self.num_classes)
        # neg_margin - d_ic = s_ic - (1 - neg_margin) for every item and class: one (B, C)
        # matmul, then each column scaled by 1 / ||M_c|| (cheaper than normalising M's rows).
        inverse_norms = row_inverse_norms(mean_fields)
        neg_violation = torch.addcmul(
            e.new_tensor(self.neg_margin - 1.0), e @ mean_fields.T, inverse_norms
        )
        own_similarity = (e * mean_fields[labels]).sum(dim=1) * inverse_norms[labels]
        positive = F.relu(1.0 - own_similarity - self.pos_margin).sum()
        # Sum over all classes, then take the own class (c = y_i) back out.
        own_violation = neg_violation.gather(1, labels[:, None])
        negative = F.relu(neg_violation).sum() - F.relu(own_violation).sum()
        return (positive + negative) / labels.numel()

    def regularizer_pair_term(self, similarity: torch.Tensor) -> torch.Tensor:
        """``relu(neg_margin - D_cc')`` with ``D_cc' = 1 - similarity``."""
        return F.relu(similarity - (1.0 - self.neg_margin))
