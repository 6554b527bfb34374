"""retrieval_metrics matches MAP@R, P@1 and R-Precision computed by brute force."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.engine import concatenate_embeddings, retrieval_metrics


def brute_force_metrics(query, query_labels, reference=None, reference_labels=None):
    """MAP@R, P@1 and R-Precision by their definitions, one query at a time.

    Distances are Euclidean on L2-normalised embeddings. Without a reference, the query set is
    its own reference and each query is excluded from its own ranking. ``R`` is the number of
    reference items of the query's class (other than itself). As PML documents, a query with
    ``R = 0`` (e.g. the only image of its class) has no defined metric and is left out of
    every average (it still appears as a wrong neighbour of the other queries).
    """
    query = query / np.linalg.norm(query, axis=1, keepdims=True)
    same_set = reference is None
    if same_set:
        reference, reference_labels = query, query_labels
    else:
        reference = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    map_at_r, precision_at_1, r_precision = [], [], []
    for i in range(len(query)):
        ranking = []
        for j in range(len(reference)):
            if same_set and j == i:
                continue
            distance = float(np.sum((query[i].astype(np.float64) - reference[j]) ** 2))
            ranking.append((distance, reference_labels[j] == query_labels[i]))
        ranking.sort(key=lambda item: item[0])
        relevant = [is_same for _, is_same in ranking]
        r = sum(relevant)
        if r == 0:
            continue
        hits, precisions = 0, 0.0
        for k in range(r):
            if relevant[k]:
                hits += 1
                precisions += hits / (k + 1)
        map_at_r.append(precisions / r)
        precision_at_1.append(float(relevant[0]))
        r_precision.append(hits / r)
    return {
        "map_at_r": float(np.mean(map_at_r)),
        "precision_at_1": float(np.mean(precision_at_1)),
        "r_precision": float(np.mean(r_precision)),
    }


def clustered_embeddings(rng, class_sizes, dim=8, spread=0.9):
    labels = np.concatenate([np.full(size, c) for c, size in enumerate(class_sizes)])
    centres = rng.normal(size=(len(class_sizes), dim))
    embeddings = centres[labels] + spread * rng.normal(size=(len(labels), dim))
    order = rng.permutation(len(labels))
    return embeddings[order].astype(np.float32), labels[order].astype(np.int64)


def assert_metrics_close(actual, expected):
    assert set(actual) == {"map_at_r", "precision_at_1", "r_precision"}
    for key, value in expected.items():
        assert actual[key] == pytest.approx(value, abs=1e-6), key


def test_metrics_match_brute_force_with_singleton_classes():
    rng = np.random.default_rng(0)
    sizes = [1, 2, 3, 5, 8, 13, 1, 4, 7, 1, 10, 6]  # three singleton classes (R = 0)
    embeddings, labels = clustered_embeddings(rng, sizes)
    expected = brute_force_metrics(embeddings, labels)
    assert 0.1 < expected["map_at_r"] < 0.9  # neither trivial nor hopeless
    assert_metrics_close(retrieval_metrics(embeddings, labels), expected)


def test_singleton_queries_are_left_out_of_the_average():
    rng = np.random.default_rng(1)
    embeddings, labels = clustered_embeddings(rng, [4, 4, 4, 4])
    with_singletons = np.concatenate([embeddings, rng.normal(size=(3, 8)).astype(np.float32)])
    singleton_labels = np.concatenate([labels, [10, 11, 12]])
    expected = brute_force_metrics(with_singletons, singleton_labels)
    assert_metrics_close(retrieval_metrics(with_singletons, singleton_labels), expected)


def test_metrics_match_brute_force_for_query_and_gallery_sets():
    rng = np.random.default_rng(2)
    embeddings, labels = clustered_embeddings(rng, [3, 6, 2, 9, 4, 5, 7, 3], spread=1.0)
    is_query = rng.random(len(labels)) < 0.4
    query, query_labels = embeddings[is_query], labels[is_query]
    gallery, gallery_labels = embeddings[~is_query], labels[~is_query]
    # A query class absent from the gallery (R = 0) is left out, as for singletons.
    query = np.concatenate([query, rng.normal(size=(2, 8)).astype(np.float32)])
    query_labels = np.concatenate([query_labels, [99, 99]])
    expected = brute_force_metrics(query, query_labels, gallery, gallery_labels)
    actual = retrieval_metrics(query, query_labels, gallery, gallery_labels)
    assert_metrics_close(actual, expected)


def brute_force_recall(query, query_labels, ks, reference=None, reference_labels=None):
    """Recall@K by its definition: the fraction of queries with an item of their class among
    their K nearest references (themselves excluded; queries without such an item left out)."""
    query = query / np.linalg.norm(query, axis=1, keepdims=True)
    same_set = reference is None
    if same_set:
        reference, reference_labels = query, query_labels
    else:
        reference = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    found = {k: [] for k in ks}
    for i in range(len(query)):
        others = [j for j in range(len(reference)) if not (same_set and j == i)]
        if not any(reference_labels[j] == query_labels[i] for j in others):
            continue
        distances = [
            float(np.sum((query[i].astype(np.float64) - reference[j]) ** 2)) for j in others
        ]
        ranked = [others[j] for j in np.argsort(distances, kind="stable")]
        for k in ks:
            found[k].append(any(reference_labels[j] == query_labels[i] for j in ranked[:k]))
    return {k: float(np.mean(found[k])) for k in ks}


@pytest.mark.parametrize("gallery", [False, True])
def test_recall_at_k_up_to_32_matches_brute_force(gallery):
    # The traditional protocol's K for CUB and Cars196: 1, 2, 4, 8, 16, 32.
    ks = (1, 2, 4, 8, 16, 32)
    rng = np.random.default_rng(3)
    embeddings, labels = clustered_embeddings(rng, [6, 9, 4, 12, 7, 5, 8, 3, 10, 6], spread=1.6)
    if gallery:
        is_query = rng.random(len(labels)) < 0.4
        args = (embeddings[is_query], labels[is_query], embeddings[~is_query], labels[~is_query])
    else:
        args = (embeddings, labels, None, None)
    expected = brute_force_recall(args[0], args[1], ks, args[2], args[3])
    assert 0.3 < expected[1] < expected[32] <= 1.0  # the K matter
    actual = retrieval_metrics(*args, recall_at=ks)
    for k in ks:
        assert actual[f"recall_at_{k}"] == pytest.approx(expected[k], abs=1e-9), k


def test_unnormalised_embeddings_give_the_normalised_result():
    rng = np.random.default_rng(3)
    embeddings, labels = clustered_embeddings(rng, [5, 5, 6, 4, 7, 3])
    scales = rng.uniform(0.1, 50.0, size=(len(labels), 1)).astype(np.float32)
    normalised = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    assert_metrics_close(
        retrieval_metrics(torch.from_numpy(embeddings * scales), torch.from_numpy(labels)),
        retrieval_metrics(normalised, labels),
    )


def test_perfect_clusters_score_one():
    labels = np.repeat(np.arange(5), 4)
    embeddings = np.eye(8, dtype=np.float32)[labels] + 0.01 * np.random.default_rng(4).normal(
        size=(20, 8)
    ).astype(np.float32)
    assert retrieval_metrics(embeddings, labels) == pytest.approx(
        {"map_at_r": 1.0, "precision_at_1": 1.0, "r_precision": 1.0}
    )


def test_concatenated_embeddings_are_unit_norm_and_weigh_each_model_equally():
    a = torch.randn(10, 4) * 100.0
    b = torch.randn(10, 6) * 0.01
    joined = concatenate_embeddings([a, b])
    assert joined.shape == (10, 10)
    assert torch.allclose(joined.norm(dim=1), torch.ones(10), atol=1e-6)
    assert torch.allclose(joined[:, :4].norm(dim=1), joined[:, 4:].norm(dim=1), atol=1e-6)


def test_non_finite_embeddings_are_refused_with_a_clear_message():
    embeddings = torch.randn(20, 4)
    embeddings[3, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN or infinite"):
        retrieval_metrics(embeddings, torch.arange(20) % 5)


def test_metrics_are_named_as_the_results_file_names_them():
    from benchmark.engine.retrieval_metrics import METRICS
    from benchmark.store.results_file import METRIC_NAMES

    assert tuple(METRICS) == METRIC_NAMES
