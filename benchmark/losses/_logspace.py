"""Numerically safe building blocks shared by the paper's losses.

Every loss of the paper is a sum of terms ``log(1 + sum_k w_k exp(z_k))`` where ``z_k`` reaches
``beta * (1 - base)`` (``e^200`` in the search ranges: inf in float32). These helpers evaluate
such terms in log space, so that ``exp`` only ever sees numbers ``<= 0``:

    log(1 + sum_k w_k exp(z_k)) = softplus(logsumexp_k(z_k + log w_k))

and keep the memory of the O(C^2) mean-field regularisers at O(block x C), also in backward.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

NORMALIZE_EPS = 1e-12  # as F.normalize: a zero vector normalises to zero, not NaN

# Rows of the regulariser's (block x C) Gram block: about 4M entries (16 MB in float32).
_PAIR_BLOCK_ENTRIES = 1 << 22


def compute_dtype(*tensors: torch.Tensor) -> torch.dtype:
    """The dtype a loss computes in: float32, or float64 when an input is float64.

    Half and bfloat16 inputs (autocast) are computed in float32: ``exp`` of the loss's
    arguments overflows float16 beyond ``e^11``.
    """
    dtype = torch.float32
    for tensor in tensors:
        if tensor.dtype == torch.float64:
            dtype = torch.float64
    return dtype


def l2_normalize(x: torch.Tensor) -> torch.Tensor:
    """Rows of ``x`` scaled to unit L2 norm (eps 1e-12, so zero rows stay zero)."""
    return F.normalize(x, p=2.0, dim=-1, eps=NORMALIZE_EPS)


def row_inverse_norms(vectors: torch.Tensor) -> torch.Tensor:
    """``1 / ||v_c||`` for every row (eps 1e-12, as :func:`l2_normalize`), shape (C,).

    Cosines to C mean fields are ``(e @ V.T) * row_inverse_norms(V)``: scaling the (B, C)
    product is cheaper in time and memory, forward and backward, than normalising the (C, D)
    rows first when C >> B (SOP: C = 11318).
    """
    return torch.linalg.vector_norm(vectors, dim=1).clamp(min=NORMALIZE_EPS).reciprocal()


def masked_logsumexp(
    x: torch.Tensor,
    keep_mask: torch.Tensor | None = None,
    dim: int = -1,
    add_one: bool = False,
) -> torch.Tensor:
    """``log(sum_k exp(x_k))`` over the entries of ``dim`` where ``keep_mask`` is true.

    Args:
        x: the exponents ``z_k`` (any finite values; ``log w_k`` already added).
        keep_mask: boolean tensor broadcastable to ``x``; entries where it is false are left out
            of the sum. ``None`` keeps every entry.
        dim: the dimension summed over (removed from the result).
        add_one: return ``log(1 + sum_k exp(x_k))`` instead, so a slice with no kept entry
            gives 0. Without it such a slice gives ``-inf``.

    Gradients are finite in both cases: left-out entries receive exactly zero.
    """
    if keep_mask is not None:
        x = x.masked_fill(~keep_mask, -math.inf)
    out = torch.logsumexp(x, dim=dim)
    return F.softplus(out) if add_one else out


def segment_logsumexp(
    x: torch.Tensor, segment_ids: torch.Tensor, num_segments: int, dim: int = 0
) -> torch.Tensor:
    """``log(sum exp(x))`` over the slices of ``x`` along ``dim`` that share a segment id.

    Args:
        x: finite values.
        segment_ids: int64 tensor of length ``x.shape[dim]``, values in ``0..num_segments-1``;
            every segment must occur at least once (as the inverse index of ``torch.unique``).
        num_segments: size of ``dim`` in the result.
        dim: the dimension whose slices are grouped.

    Each segment is shifted by its own maximum (a constant for autograd), so every ``exp``
    argument is ``<= 0`` and the largest is exactly 0: no overflow, and no underflow to
    ``log(0)`` however far apart the segments' values are.
    """
    shape = list(x.shape)
    shape[dim] = num_segments
    index_shape = [1] * x.dim()
    index_shape[dim] = -1
    with torch.no_grad():
        shift = x.new_full(shape, -math.inf).scatter_reduce_(
            dim, segment_ids.view(index_shape).expand_as(x), x, "amax"
        )
    shifted_exp = (x - shift.index_select(dim, segment_ids)).exp()
    total = x.new_zeros(shape).index_add(dim, segment_ids, shifted_exp)
    return total.log() + shift


def off_diagonal_pair_sum(
    vectors: torch.Tensor,
    pair_term: Callable[[torch.Tensor], torch.Tensor],
    block_rows: int | None = None,
) -> torch.Tensor:
    """``sum_{c != c'} pair_term(v_c . v_c')`` over all ordered pairs of rows of ``vectors``.

    Args:
        vectors: (C, D) rows ``v_c`` (normalised mean fields).
        pair_term: elementwise function of a block of dot products.
        block_rows: rows per block; default keeps a block near 4M entries.

    The (C, C) Gram matrix is never held: rows are processed in blocks of ``block_rows x C``,
    and when gradients are needed each block is recomputed during backward (activation
    checkpointing), so the peak memory is O(block_rows x C) in forward and backward alike.
    """
    num_rows = vectors.shape[0]
    if block_rows is None:
        block_rows = max(1, _PAIR_BLOCK_ENTRIES // max(num_rows, 1))
    needs_graph = torch.is_grad_enabled() and vectors.requires_grad
    total = vectors.new_zeros(())
    for start in range(0, num_rows, block_rows):
        stop = min(start + block_rows, num_rows)
        if needs_graph:
            block = checkpoint(
                _off_diagonal_block_sum,
                vectors,
                start,
                stop,
                pair_term,
                use_reentrant=False,
                preserve_rng_state=False,
            )
        else:
            block = _off_diagonal_block_sum(vectors, start, stop, pair_term)
        total = total + block
    return total


def _off_diagonal_block_sum(
    vectors: torch.Tensor,
    start: int,
    stop: int,
    pair_term: Callable[[torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    values = pair_term(vectors[start:stop] @ vectors.T)
    # Row r of the block is vector start + r, so the pairs c = c' lie on diagonal `start`.
    return values.sum() - values.diagonal(offset=start).sum()
