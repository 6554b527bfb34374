"""The test stage of one repeat: the fold models' test embeddings -> separated and concatenated
metrics -> result rows.

A repeat yields the *separated* metrics (mean over the fold models, ``embedding_size`` dims) and
the *concatenated* metrics (normalise, concatenate the fold embeddings, normalise again).
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from benchmark.engine.embeddings import concatenate_embeddings
from benchmark.engine.evaluation import eval_parts
from benchmark.engine.retrieval_metrics import retrieval_metrics
from benchmark.errors import ConfigError
from benchmark.progress import tracked
from benchmark.search.context import StudyContext
from benchmark.store.results_file import (
    MODE_CONCATENATED,
    MODE_SEPARATED,
    MODE_SINGLE,
    ResultsFile,
    result_rows,
)
from benchmark.store.run_directory import code_version

_logger = logging.getLogger(__name__)


@dataclass
class FoldOutcome:
    """What one fold model of a repeat contributes: its test embeddings -- ``(query,)``, or
    ``(query, gallery)`` for a pair -- and provenance."""

    seed: int
    test_embeddings: tuple[np.ndarray, ...]
    best_iteration: int
    best_epoch: int


def repeats_to_run(context: StudyContext, loss: str, repeats: list[int] | None) -> list[int]:
    """The requested repeats (default: all) that are not in the results yet, or whose
    searched parameters were chosen under another budget than the run's (see
    :func:`~benchmark.stages.retrain.run_retrain`). A torn results file is repaired first:
    the repeats it lost are run again."""
    count = context.config.retrain.repeats
    wanted = range(count) if repeats is None else repeats
    for repeat in wanted:
        if not 0 <= repeat < count:
            raise ConfigError(
                f"repeat {repeat} does not exist: the run has retrain.repeats = {count} "
                f"(repeats 0..{count - 1})"
            )
    results = ResultsFile(context.run_dir)
    results.repair()
    missing = results.missing_repeats(context.config, [loss])[loss]
    return [r for r in wanted if r in missing]


def run_repeats(
    context: StudyContext,
    loss: str,
    display: str,
    repeats: list[int],
    fold_outcome: Callable[[int, int], FoldOutcome],
    details: dict[str, Any],
) -> None:
    """Evaluate each repeat's fold models (``fold_outcome(repeat, fold)``) and append the rows."""
    cv = context.cross_validation
    for repeat in tracked(
        repeats, f"retrain {display}", logger=_logger, unit="repeat", bars=context.progress
    ):
        folds = [fold_outcome(repeat, fold.index) for fold in cv.folds]
        rows = repeat_rows(context, loss, display, repeat, folds)
        for row in rows:
            row.update(details)
        ResultsFile(context.run_dir).append(rows)


def repeat_rows(
    context: StudyContext, loss: str, display: str, repeat: int, folds: list[FoldOutcome]
) -> list[dict[str, Any]]:
    """The rows of one repeat: ``separated`` (the mean of the fold models' metrics) and, when
    the protocol asks, ``concatenated``; ``single`` when the split has one fold (traditional)."""
    config = context.config
    score = _scorer(context)
    fold_metrics = [score([torch.from_numpy(part) for part in f.test_embeddings]) for f in folds]
    mean = {metric: statistics.fmean(m[metric] for m in fold_metrics) for metric in fold_metrics[0]}
    provenance = {
        "seeds": [fold.seed for fold in folds],
        "best_iterations": [fold.best_iteration for fold in folds],
        "best_epochs": [fold.best_epoch for fold in folds],
        "code_version": code_version(),
    }
    dim = folds[0].test_embeddings[0].shape[1]
    mode = MODE_SEPARATED if len(folds) > 1 else MODE_SINGLE
    rows = result_rows(config, loss, display, repeat, mode, dim, mean, **provenance)
    if config.retrain.concatenated and len(folds) > 1:
        joined = [
            concatenate_embeddings([torch.from_numpy(f.test_embeddings[part]) for f in folds])
            for part in range(len(folds[0].test_embeddings))
        ]
        rows += result_rows(
            config,
            loss,
            display,
            repeat,
            MODE_CONCATENATED,
            joined[0].shape[1],
            score(joined),
            **provenance,
        )
    return rows


def _scorer(context: StudyContext) -> Callable[[list[torch.Tensor]], dict[str, float]]:
    """``score([query])`` or ``score([query, gallery])``: the test metrics of embeddings."""
    cv = context.cross_validation
    parts = eval_parts(cv.test_set)
    labels = [np.asarray(part.labels) for part in parts]
    device = cv.run_device.device
    recall_at = context.config.training.recall_at

    def score(embeddings: list[torch.Tensor]) -> dict[str, float]:
        pairs = [x for pair in zip(embeddings, labels, strict=True) for x in pair]
        return retrieval_metrics(*pairs, device=device, recall_at=recall_at)

    return score
