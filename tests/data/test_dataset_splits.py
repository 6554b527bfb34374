"""The traditional split: In-Shop trains on its train items and is evaluated query -> gallery."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.config import load_protocol
from benchmark.crossval.cross_validation import CrossValidation
from benchmark.engine import RunDevice, embed, evaluate, retrieval_metrics


def _inshop(root, *overrides: str):
    settings = [f"data.root={root}", "data.transform=small", "data.image_size=8", "data.num_workers=0",
                "model.trunk=small_cnn", "model.weights=none", "training.device=cpu", *overrides]  # fmt: skip
    return load_protocol("traditional", "inshop", settings)


def test_inshop_trains_on_train_items_and_tests_query_against_gallery(inshop_root):
    cv = CrossValidation(_inshop(inshop_root), progress=False)
    (fold,) = cv.folds
    train, (query, gallery) = cv.fold_sets(fold)
    names = lambda image_set: set(np.asarray(image_set.class_names))  # noqa: E731
    assert names(train) == {"id_00000002", "id_00000007", "id_00000011", "id_00000015"}
    assert names(query) == names(gallery) == {"id_00000004", "id_00000008", "id_00000012"}
    assert (len(query), len(gallery)) == (4, 4)
    assert query.class_names == gallery.class_names, "query and gallery share one label space"

    torch.manual_seed(0)
    model = cv.build_model(seed=0)
    cpu = RunDevice(torch.device("cpu"))
    q, q_labels = embed(model, query, cpu)
    g, g_labels = embed(model, gallery, cpu)
    expected = retrieval_metrics(q, q_labels, g, g_labels)
    assert evaluate(model, (query, gallery), cpu) == pytest.approx(expected)
    own = retrieval_metrics(torch.cat([q, g]), torch.cat([q_labels, g_labels]))
    assert expected != own, "query -> gallery must differ from the pooled evaluation here"


def test_without_the_split_query_and_gallery_are_one_test_set(inshop_root):
    cv = CrossValidation(_inshop(inshop_root, "data.inshop_query_gallery=false"), progress=False)
    test = cv.test_set
    assert not isinstance(test, tuple) and len(test) == 8
