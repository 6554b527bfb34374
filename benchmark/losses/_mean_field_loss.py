"""What the mean-field losses share: the (C, D) mean fields, the forward pass, the regulariser."""

from __future__ import annotations

import torch

from benchmark.losses._logspace import compute_dtype, l2_normalize, off_diagonal_pair_sum
from benchmark.losses._validation import check_hyperparameters


class MeanFieldLoss(torch.nn.Module):
    """Base of losses that compare each item with learnable class mean fields.

    Subclasses define the batch terms (:meth:`batch_terms`) and the per-pair term of the
    mean-field regulariser (:meth:`regularizer_pair_term`); this class owns the mean fields,
    computes in float32 under autocast, and adds ``mf_reg / C * sum_{c != c'} term(m_c . m_c')``
    only when ``mf_reg > 0`` (in row blocks: never a (C, C) matrix).
    """

    def __init__(
        self,
        num_classes: int,
        embedding_size: int,
        mf_reg: float,
        mf_power: float,
        positive: dict[str, float] | None = None,
    ):
        super().__init__()
        check_hyperparameters(
            type(self).__name__,
            positive={
                "num_classes": num_classes,
                "embedding_size": embedding_size,
                **(positive or {}),
            },
            mf_reg=mf_reg,
            mf_power=mf_power,
        )
        self.num_classes = int(num_classes)
        self.embedding_size = int(embedding_size)
        self.mf_reg = float(mf_reg)
        self.mf_power = float(mf_power)
        self.mean_fields = torch.nn.Parameter(torch.randn(num_classes, embedding_size))

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The loss of a batch: ``embeddings`` (B, D), ``labels`` (B,) in 0..C-1."""
        with torch.autocast(device_type=embeddings.device.type, enabled=False):
            dtype = compute_dtype(embeddings, self.mean_fields)
            e = l2_normalize(embeddings.to(dtype))
            mean_fields = self.mean_fields.to(dtype)
            loss = self.batch_terms(e, mean_fields, labels)
            if self.mf_reg > 0:
                regularizer = self.mean_field_regularizer(l2_normalize(mean_fields))
                loss = loss + self.mf_reg / self.num_classes * regularizer
        return loss

    def batch_terms(
        self, e: torch.Tensor, mean_fields: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        """The loss without the regulariser, from normalised embeddings and raw mean fields."""
        raise NotImplementedError

    def regularizer_pair_term(self, similarity: torch.Tensor) -> torch.Tensor:
        """The regulariser's term of mean-field pairs with cosine ``similarity``, elementwise."""
        raise NotImplementedError

    def mean_field_regularizer(self, m: torch.Tensor | None = None) -> torch.Tensor:
        """``sum_{c != c'} regularizer_pair_term(m_c . m_c')`` (before ``mf_reg / C``).

        Computed in row blocks: O(block x C) memory in forward and backward.
        """
        if m is None:
            m = l2_normalize(self.mean_fields)
        power = self.mf_power

        def pair_term(similarity: torch.Tensor) -> torch.Tensor:
            term = self.regularizer_pair_term(similarity)
            return term if power == 1 else term.pow(power)

        return off_diagonal_pair_sum(m, pair_term)
