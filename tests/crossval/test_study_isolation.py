"""A trial only ever sees train+val classes: no test image is read during a study."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from run_helpers import load_study, tiny_config

import benchmark.data.image_cache as image_cache_module
import benchmark.data.image_set as image_set_module
from benchmark.crossval.cross_validation import CrossValidation
from benchmark.search.context import StudyContext
from benchmark.search.worker import run_worker
from benchmark.store.run_directory import RunDirectory


def test_test_classes_never_reach_a_trial(tmp_path, tiny_overrides, monkeypatch):
    # With the image cache on (the demo's default) and built here: its builder reads no test
    # image during a study either.
    cached = ["data.cache_images=true", f"data.cache_dir={tmp_path / 'images'}"]
    config = tiny_config([*tiny_overrides, "study.n_trials=2", *cached])
    run_dir = RunDirectory(tmp_path / "run")
    context = StudyContext.create(config, run_dir, progress=False)
    read_paths: list[Path] = []
    real_load_image = image_set_module.load_image

    def spy(path):
        read_paths.append(Path(path))
        return real_load_image(path)

    monkeypatch.setattr(image_set_module, "load_image", spy)
    monkeypatch.setattr(image_cache_module, "load_image", spy)
    run_worker(context, "contrastive")

    cv = CrossValidation(config, progress=False)
    labels = cv.index.labels
    test_paths = {cv.index.paths[i] for i in np.flatnonzero(np.isin(labels, cv.split.test_classes))}
    trainval_paths = set(cv.index.paths) - test_paths
    assert len(load_study(run_dir.path, "contrastive").trials) == 2
    assert read_paths, "the spy saw no image: the test would pass vacuously"
    assert any((tmp_path / "images").glob("images-synthetic-*/pixels.u8"))
    assert set(read_paths) <= trainval_paths
    assert not set(read_paths) & test_paths
    for fold in cv.folds:
        assert not set(fold.train_classes) & set(cv.split.test_classes)
        assert not set(fold.val_classes) & set(cv.split.test_classes)
