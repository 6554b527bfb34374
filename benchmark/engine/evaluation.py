"""Evaluating a network on an evaluation set: embeddings, then retrieval metrics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import torch
from torch.utils.data import Dataset

from benchmark.engine.device import RunDevice
from benchmark.engine.embeddings import embed
from benchmark.engine.retrieval_metrics import retrieval_metrics

EvalSet = Dataset | tuple[Dataset, Dataset]
"""A dataset that is its own reference, or a (query, gallery) pair as In-Shop's."""

_Part = TypeVar("_Part", bound=Dataset)


def evaluate(
    model: torch.nn.Module,
    eval_set: EvalSet,
    run_device: RunDevice,
    *,
    batch_size: int = 128,
    num_workers: int = 0,
    recall_at: Sequence[int] = (),
) -> dict[str, float]:
    """MAP@R, P@1, R-Precision (and Recall@K for ``recall_at``) of ``model`` on ``eval_set``
    (query -> gallery for a pair)."""

    def embeddings_of(images: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
        return embed(model, images, run_device, batch_size=batch_size, num_workers=num_workers)

    pairs = [x for part in eval_parts(eval_set) for x in embeddings_of(part)]
    return retrieval_metrics(*pairs, device=run_device.device, recall_at=recall_at)


def eval_parts(eval_set: _Part | tuple[_Part, _Part]) -> tuple[_Part, ...]:
    """``(images,)`` for a set that is its own reference, else ``(query, gallery)``."""
    return eval_set if isinstance(eval_set, tuple) else (eval_set,)
