"""End to end on the embedded synthetic dataset: a short CPU fit learns a transferable metric."""

from __future__ import annotations

import time

import pytest
import torch

from benchmark.config import DataConfig, ModelConfig, TrainingConfig
from benchmark.data import (
    build_folds,
    build_transforms,
    image_set_for_classes,
    load_dataset,
    mlrc_split,
    protocol_image_caches,
)
from benchmark.engine import LossBundle, RunDevice, Trainer, evaluate, load_best_model
from benchmark.models import build_model


@pytest.fixture(scope="module")
def synthetic_sets(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLRC_CACHE_DIR", str(tmp_path_factory.mktemp("mlrc_cache")))
        data_config = DataConfig(transform="small", resize=32, image_size=32, cache_images=True)
        index = load_dataset("synthetic", None, data_config)
        split = mlrc_split(index)
        fold = build_folds(split.trainval_classes, 4, "mlrc")[0]
        train_tf, eval_tf = build_transforms(data_config)
        caches = protocol_image_caches(index, data_config, train_tf, eval_tf, progress=False)
        sets = {
            "train": image_set_for_classes(
                index, fold.train_classes, train_tf, image_cache=caches.train
            ),
            "val": image_set_for_classes(
                index, fold.val_classes, eval_tf, image_cache=caches.validation
            ),
            "test": image_set_for_classes(
                index, split.test_classes, eval_tf, image_cache=caches.test
            ),
        }
        yield sets


def test_a_short_cpu_fit_raises_test_map_at_r_well_above_the_untrained_network(
    synthetic_sets, tmp_path
):
    train, val, test = synthetic_sets["train"], synthetic_sets["val"], synthetic_sets["test"]
    assert test.num_classes == 50  # the last 50 classes: never seen in training or validation
    torch.manual_seed(0)
    model = build_model(
        ModelConfig(trunk="small_cnn", weights="none", embedding_size=64, freeze_batchnorm=False)
    )
    cpu = RunDevice(torch.device("cpu"))
    untrained = evaluate(model, test, cpu)
    config = TrainingConfig(
        trunk_lr=1e-3, embedder_lr=1e-3, iterations_per_epoch=25, eval_every_epochs=1,
        patience_epochs=2, max_epochs=6, device="cpu", amp=False,
    )  # fmt: skip
    start = time.perf_counter()
    loss = LossBundle.build("contrastive", {}, num_classes=train.num_classes, embedding_size=64)
    result = Trainer(model, loss, config, tmp_path, seed=0, progress=False).fit(train, val)
    fit_seconds = time.perf_counter() - start
    trained = evaluate(model, test, cpu)
    print(
        f"\nsynthetic test MAP@R untrained {untrained['map_at_r']:.4f} -> trained "
        f"{trained['map_at_r']:.4f} (P@1 {untrained['precision_at_1']:.3f} -> "
        f"{trained['precision_at_1']:.3f}); best val MAP@R {result.best_val_map_at_r:.4f} at "
        f"iteration {result.best_iteration}; fit {fit_seconds:.1f}s for {result.iterations} "
        "iterations"
    )
    assert result.best_iteration > 0
    assert result.best_val_map_at_r > 2 * result.curve[0]["val_map_at_r"]
    assert trained["map_at_r"] > 3 * untrained["map_at_r"]
    assert trained["map_at_r"] > untrained["map_at_r"] + 0.03
    assert trained["precision_at_1"] > untrained["precision_at_1"] + 0.1

    # The best checkpoint reproduces the returned model's test embeddings.
    fresh = build_model(
        ModelConfig(trunk="small_cnn", weights="none", embedding_size=64, freeze_batchnorm=False)
    )
    load_best_model(tmp_path, fresh)
    assert evaluate(fresh, test, cpu) == trained
