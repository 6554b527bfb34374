"""``mlrc run`` end to end with timm trunks at random initialisation: the demo protocol on the
synthetic images, and a ViT on the ``folder`` dataset through the image cache.

Needs the optional timm package: skipped without it, an error where MLRC_REQUIRE_EXTRAS=1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from extra_checks import need_extra
from PIL import Image
from run_helpers import set_args

from benchmark.cli import main


@pytest.fixture(autouse=True)
def timm():
    return need_extra("timm", "timm")


def test_a_demo_sized_run_trains_and_tests_a_timm_trunk(tmp_path, tiny_overrides, capsys):
    run_dir = tmp_path / "run"
    overrides = [
        *tiny_overrides,
        "model.trunk=timm/test_efficientnet",  # timm's tiny EfficientNet, 256-d features
        "data.transform=trunk",  # its mean/std (ImageNet's), from timm's configuration
        f"data.cache_dir={tmp_path / 'image-cache'}",
    ]
    args = ["run", "--losses", "contrastive", "--run-dir", str(run_dir), "--no-progress"]
    assert main([*args, *set_args(overrides)]) == 0
    rows = pd.read_csv(run_dir / "results.csv")
    assert set(rows["loss"]) == {"contrastive", "untrained"}
    assert set(rows[rows["loss"] != "untrained"]["repeat"]) == {0, 1}
    assert rows["value"].between(0, 1).all()
    assert set(rows["dim"]) == {128, 512}  # the embeddings, and the 4 folds concatenated
    assert any((tmp_path / "image-cache").glob("images-synthetic-*/pixels.u8"))
    assert "Cont." in capsys.readouterr().out


def _folder_dataset(root, classes: int = 24, per_class: int = 4):
    """``root/class_k/i.jpg``: noise images of a colour per class, 48 x 40 px."""
    rng = np.random.default_rng(0)
    for k in range(classes):
        colour = rng.integers(0, 256, 3)
        for i in range(per_class):
            noise = rng.integers(-40, 40, (40, 48, 3))
            pixels = np.clip(colour + noise, 0, 255).astype(np.uint8)
            (root / f"class_{k:02d}").mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(root / f"class_{k:02d}" / f"{i}.jpg")
    return root


def test_a_vit_runs_on_the_folder_dataset_from_the_image_cache(tmp_path):
    root = _folder_dataset(tmp_path / "images")
    run_dir = tmp_path / "run"
    overrides = [
        "model.trunk=timm/test_vit",  # timm's tiny ViT: 160 px only, mean/std 0.5
        "data.transform=trunk",
        "data.resize=176",
        "data.image_size=160",
        "data.cache_images=true",
        f"data.cache_dir={tmp_path / 'image-cache'}",
        "training.batch_size=8",
        "training.iterations_per_epoch=2",
        "training.eval_every_epochs=1",
        "training.patience_epochs=0",
        "training.max_epochs=1",
        "training.eval_batch_size=32",
        "study.n_trials=1",
        "study.sampler.n_startup_trials=1",
        "retrain.repeats=1",
    ]
    args = ["run", "--dataset", "folder", "--root", str(root), "--losses", "contrastive"]
    assert main([*args, "--run-dir", str(run_dir), "--no-progress", *set_args(overrides)]) == 0
    rows = pd.read_csv(run_dir / "results.csv")
    assert set(rows["dataset"]) == {"folder"} and "contrastive" in set(rows["loss"])
    assert set(rows["dim"]) == {128, 512}
    caches = list((tmp_path / "image-cache").glob("images-folder-*/pixels.u8"))
    assert caches, "the folder's images were not cached"
