"""The test stage: retrain the best parameters R times x 4 folds, evaluate on the test classes.

For each repeat r and fold k the model is trained with seed ``seed_offset + 100 r + k`` (early
stopped on the fold's own validation classes), and its best checkpoint embeds the test classes.
A repeat yields the *separated* metrics (mean over the fold models, ``embedding_size`` dims) and
the *concatenated* metrics (normalise, concatenate the fold embeddings, normalise again).
The "untrained" baseline evaluates, with the same seeds, the networks every loss starts from.
"""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from benchmark.config import ProtocolConfig
from benchmark.engine import concatenate_embeddings, retrieval_metrics
from benchmark.errors import ConfigError
from benchmark.losses import get_loss_spec
from benchmark.study.cross_validation import CrossValidation
from benchmark.study.results import ResultsFile
from benchmark.study.run_dir import RunDirectory, code_version
from benchmark.study.worker import best_params, open_study

UNTRAINED = "untrained"
UNTRAINED_DISPLAY = "no training"


def retrain_seed(config: ProtocolConfig, repeat: int, fold: int) -> int:
    return config.retrain.seed_offset + 100 * repeat + fold


def results_file(run_dir: RunDirectory) -> ResultsFile:
    return ResultsFile(run_dir.results_path, run_dir.lock_path("results"))


def run_retrain(
    run_dir: RunDirectory,
    loss: str,
    storage_url: str | None = None,
    progress: bool = True,
    cv: CrossValidation | None = None,
    repeats: list[int] | None = None,
) -> None:
    """Retrain ``loss``'s best parameters over the repeats (or only ``repeats``); skip repeats
    already in results."""
    config, storage_url = run_dir.attach(storage_url)
    study, _ = open_study(run_dir, config, loss, storage_url)
    params = best_params(study)
    _evaluate_repeats(run_dir, config, loss, params, cv, progress, repeats)


def run_untrained(
    run_dir: RunDirectory,
    progress: bool = True,
    cv: CrossValidation | None = None,
    repeats: list[int] | None = None,
) -> None:
    """Evaluate the untrained networks (the "no training" row) over the same repeats."""
    _evaluate_repeats(run_dir, run_dir.protocol(), UNTRAINED, None, cv, progress, repeats)


def _evaluate_repeats(
    run_dir: RunDirectory,
    config: ProtocolConfig,
    loss: str,
    params: dict[str, Any] | None,
    cv: CrossValidation | None,
    progress: bool,
    repeats: list[int] | None = None,
) -> None:
    results = results_file(run_dir)
    wanted = range(config.retrain.repeats) if repeats is None else repeats
    for repeat in wanted:
        if not 0 <= repeat < config.retrain.repeats:
            raise ConfigError(
                f"repeat {repeat} does not exist: the run has retrain.repeats = "
                f"{config.retrain.repeats} (repeats 0..{config.retrain.repeats - 1})"
            )
    todo = [r for r in wanted if r not in results.completed_repeats(loss)]
    if not todo:
        return
    cv = cv or CrossValidation(config, progress=progress)
    display = UNTRAINED_DISPLAY if params is None else get_loss_spec(loss).display
    test_labels = np.asarray(cv.test_set.labels)
    for repeat in tqdm(todo, desc=f"retrain {display}", unit="repeat", disable=not progress):
        embeddings, fold_metrics, seeds, best_iterations = [], [], [], []
        for fold in cv.folds:
            seed = retrain_seed(config, repeat, fold.index)
            if params is None:
                fold_dir = run_dir.untrained_fold_dir(repeat, fold.index)
                model = cv.build_model(seed)
                best_iterations.append(0)
            else:
                fold_dir = run_dir.retrain_fold_dir(loss, repeat, fold.index)
                result = cv.train_fold(loss, params, fold, seed, fold_dir, keep_checkpoint=True)
                model = cv.trained_model(fold_dir, seed)
                best_iterations.append(result.best_iteration)
            fold_embeddings = cv.test_embeddings(model, fold_dir / "test_embeddings.npy")
            embeddings.append(fold_embeddings)
            fold_metrics.append(retrieval_metrics(torch.from_numpy(fold_embeddings), test_labels))
            seeds.append(seed)
        separated = {
            metric: statistics.fmean(m[metric] for m in fold_metrics) for metric in fold_metrics[0]
        }
        rows = _rows(config, loss, display, repeat, "separated", embeddings[0].shape[1], separated)
        if config.retrain.concatenated:
            joined = concatenate_embeddings([torch.from_numpy(e) for e in embeddings])
            concatenated = retrieval_metrics(joined, test_labels)
            rows += _rows(config, loss, display, repeat, "concatenated", joined.shape[1], concatenated)
        for row in rows:
            row.update(params=params or {}, seeds=seeds, best_iterations=best_iterations)
        results.append(rows)


def _rows(
    config: ProtocolConfig,
    loss: str,
    display: str,
    repeat: int,
    mode: str,
    dim: int,
    metrics: dict[str, float],
) -> list[dict[str, Any]]:
    return [
        {
            "dataset": config.dataset,
            "protocol": config.name,
            "loss": loss,
            "display": display,
            "repeat": repeat,
            "mode": mode,
            "dim": int(dim),
            "metric": metric,
            "value": float(value),
            "code_version": code_version(),
        }
        for metric, value in metrics.items()
    ]
