"""The log-space helpers of the losses: the blocked off-diagonal pair sum of the mean-field
regulariser."""

from __future__ import annotations

import pytest
import torch

from benchmark.losses._logspace import off_diagonal_pair_sum
from benchmark.profiling.measure import cpu_peak_memory_bytes


def test_regularizer_blocks_keep_memory_below_a_class_by_class_matrix():
    num_classes, block_rows = 3000, 100
    vectors = torch.nn.functional.normalize(torch.randn(num_classes, 8), dim=1)
    vectors.requires_grad_(True)

    def step():
        off_diagonal_pair_sum(
            vectors, lambda s: torch.nn.functional.softplus(s), block_rows
        ).backward()

    peak = cpu_peak_memory_bytes(step)
    assert peak < num_classes * num_classes * 4 / 5


@pytest.mark.parametrize("block_rows", [1, 2, 4, None])
def test_regularizer_blocks_sum_to_the_full_matrix(block_rows):
    vectors = torch.randn(7, 3, dtype=torch.float64)
    full = torch.exp(vectors @ vectors.T)
    expected = full.sum() - full.diagonal().sum()
    got = off_diagonal_pair_sum(vectors, torch.exp, block_rows)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=0)
