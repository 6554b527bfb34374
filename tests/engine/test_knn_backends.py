"""Retrieval metrics are the same whichever exact k-NN search finds the neighbours."""

from __future__ import annotations

import importlib

import pytest
import torch

from benchmark.engine import retrieval_metrics
from benchmark.engine.retrieval_metrics import faiss_searches_on, knn_function


def _clustered(
    classes: int, per_class: int, dim: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, dim, generator=generator)
    labels = torch.arange(classes).repeat_interleave(per_class)
    noise = 1.2 * torch.randn(len(labels), dim, generator=generator)
    return centres[labels] + noise, labels


@pytest.mark.skipif(not faiss_searches_on(torch.device("cpu")), reason="faiss is not installed")
@pytest.mark.parametrize("seed", [0, 1])
def test_torch_and_faiss_searches_give_the_same_metrics(seed):
    embeddings, labels = _clustered(classes=40, per_class=15, dim=32, seed=seed)
    by_faiss = retrieval_metrics(embeddings, labels, knn="faiss")
    by_torch = retrieval_metrics(embeddings, labels, knn="torch")
    assert 0.05 < by_faiss["map_at_r"] < 0.95, "too easy or too hard to tell the searches apart"
    assert by_torch == pytest.approx(by_faiss, abs=1e-6)

    query, gallery = embeddings[::2], embeddings[1::2]
    query_labels, gallery_labels = labels[::2], labels[1::2]
    faiss_qg = retrieval_metrics(query, query_labels, gallery, gallery_labels, knn="faiss")
    torch_qg = retrieval_metrics(query, query_labels, gallery, gallery_labels, knn="torch")
    assert torch_qg == pytest.approx(faiss_qg, abs=1e-6)


def test_the_torch_search_works_in_blocks_smaller_than_the_query_set(monkeypatch):
    module = importlib.import_module("benchmark.engine.retrieval_metrics")
    embeddings, labels = _clustered(classes=20, per_class=10, dim=16, seed=3)
    whole = retrieval_metrics(embeddings, labels, knn="torch")
    monkeypatch.setattr(module, "_TORCH_KNN_BLOCK_ENTRIES", 7 * len(labels))  # blocks of 7 queries
    assert retrieval_metrics(embeddings, labels, knn="torch") == pytest.approx(whole, abs=1e-6)


def test_auto_uses_faiss_on_the_cpu_when_installed_and_torch_otherwise(monkeypatch):
    module = importlib.import_module("benchmark.engine.retrieval_metrics")
    expected = "FaissKNN" if faiss_searches_on(torch.device("cpu")) else "CustomKNN"
    assert type(knn_function(torch.device("cpu"))).__name__ == expected
    monkeypatch.setattr(module, "faiss_searches_on", lambda device: False)
    assert type(knn_function(torch.device("cpu"))).__name__ == "CustomKNN"
