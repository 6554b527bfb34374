"""The image cache (data.cache_images): batches bitwise equal to those read from the image files,
and a cache that is never read when stale, truncated or half built."""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from benchmark.config import DataConfig, TrainingConfig
from benchmark.data import (
    build_transforms,
    cached_image_ids,
    ensure_image_cache,
    image_set_for_images,
    load_dataset,
    protocol_image_caches,
    read_cub,
)
from benchmark.data import image_cache as image_cache_module
from benchmark.data import image_set as image_set_module
from benchmark.data.device_transform import collate_fn_of, device_transform_of
from benchmark.data.image_cache import PIXELS, cache_is_complete
from benchmark.data.protocol_caches import cached_roles
from benchmark.engine.train_loader import build_train_loader
from benchmark.profiling.cub_jpeg import ensure_cub_jpeg_tree

# MLRC's pipelines in miniature (Resize 64, crops of 56) on CUB-layout JPEGs of 80 x 60.
MLRC_DATA = DataConfig(transform="bninception", resize=64, image_size=56, num_workers=0)
TRAINING = TrainingConfig(batch_size=8, iterations_per_epoch=4)


@pytest.fixture(scope="module")
def cub_jpegs(tmp_path_factory) -> Path:
    """A CUB-layout tree of 8 classes x 3 non-square JPEG files (quality 90)."""
    return ensure_cub_jpeg_tree(
        8, 3, image_size=80, image_height=60, cache_dir=tmp_path_factory.mktemp("tree")
    )


def _batches(index, data: DataConfig, num_workers: int = 0, seed: int = 3):
    """Every training batch of one epoch and every evaluation batch, with a fixed seed, as the
    network's input (finished on the CPU)."""
    train_tf, eval_tf = build_transforms(data)
    caches = protocol_image_caches(index, data, train_tf, eval_tf, progress=False)
    ids = cached_image_ids(index, data)
    train_set = image_set_for_images(index, ids["training"], train_tf, image_cache=caches.train)
    loader = build_train_loader(
        train_set, TRAINING, images_per_class=2, seed=seed, num_workers=num_workers
    )
    loader.sampler.set_epoch(1)
    torch.manual_seed(seed)
    finish = device_transform_of(train_set)
    train = [finish(images) for images, _ in loader]
    evaluation = []
    for role in ("validation", "test"):
        eval_set = image_set_for_images(index, ids[role], eval_tf, image_cache=caches.of(role))
        finish = device_transform_of(eval_set)
        eval_loader = DataLoader(eval_set, batch_size=8, collate_fn=collate_fn_of(eval_set))
        evaluation += [finish(images) for images, _ in eval_loader]
    return train, evaluation, caches


def _assert_bitwise_equal(first: list[torch.Tensor], second: list[torch.Tensor]) -> None:
    assert len(first) == len(second) > 0
    for a, b in zip(first, second, strict=True):
        assert a.dtype == b.dtype and torch.equal(a, b)


def _no_file_reads(monkeypatch) -> None:
    def refuse(path):
        raise AssertionError(f"{path} was read from its file, not from the cache")

    monkeypatch.setattr(image_set_module, "load_image", refuse)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_mlrc_batches_from_the_cache_are_bitwise_those_from_the_jpeg_files(
    cub_jpegs, tmp_path, monkeypatch, num_workers
):
    index = read_cub(cub_jpegs)
    data = replace(MLRC_DATA, cache_dir=str(tmp_path))
    from_files = _batches(index, data, num_workers)
    with monkeypatch.context() as patch:
        _no_file_reads(patch)
        cached = protocol_image_caches(
            index, replace(data, cache_images=True), *build_transforms(data), progress=False
        )
        from_cache = _batches(index, replace(data, cache_images=True), num_workers)
    assert None not in (cached.train, cached.validation, cached.test)
    assert from_cache[2].train.first_steps == [repr(build_transforms(data)[0].transforms[0])]
    assert from_files[2].train is None
    _assert_bitwise_equal(from_files[0], from_cache[0])
    _assert_bitwise_equal(from_files[1], from_cache[1])
    # Training and validation cover the train+val classes (4 of 8), test the other 4.
    assert len(cached.train) == len(cached.validation) == len(cached.test) == 12
    assert cached.train.pixels(0).shape == (64, 85, 3)  # Resize(64) of 80 x 60
    assert cached.validation.pixels(0).shape == (56, 56, 3)  # then CenterCrop(56)
    assert set(cached.validation.paths).isdisjoint(cached.test.paths)


def test_demo_batches_from_the_cache_are_bitwise_those_from_the_png_files(tmp_path, monkeypatch):
    data = DataConfig(
        transform="small", resize=32, image_size=32, crop_scale=(0.6, 1.0), num_workers=0,
        synthetic_classes=8, synthetic_images_per_class=4, cache_dir=str(tmp_path),
    )  # fmt: skip
    monkeypatch.setenv("MLRC_CACHE_DIR", str(tmp_path))
    index = load_dataset("synthetic", None, data)
    from_files = _batches(index, data)
    _no_file_reads(monkeypatch)
    from_cache = _batches(index, replace(data, cache_images=True))
    _assert_bitwise_equal(from_files[0], from_cache[0])
    _assert_bitwise_equal(from_files[1], from_cache[1])
    caches = from_cache[2]
    assert caches.train is caches.validation  # the decoded images serve both pipelines
    assert caches.test is not caches.train  # the test half: a cache of its own
    assert caches.size_bytes == 32 * 32 * 3 * 32


def test_the_traditional_training_pipeline_reads_files_and_says_why(cub_jpegs, tmp_path, caplog):
    data = replace(
        MLRC_DATA, split="traditional", resize_before_crop=False, cache_images=True,
        cache_dir=str(tmp_path),
    )  # fmt: skip
    index = read_cub(cub_jpegs)
    with caplog.at_level(logging.WARNING):
        from_cache = _batches(index, data)
    caches = from_cache[2]
    assert caches.train is None and caches.validation is caches.test is not None
    assert "training images are not cached" in caplog.text
    assert "RandomResizedCrop" in caplog.text and "original image" in caplog.text
    from_files = _batches(index, replace(data, cache_images=False))
    _assert_bitwise_equal(from_files[0], from_cache[0])
    _assert_bitwise_equal(from_files[1], from_cache[1])


def test_the_roles_read_from_a_cache_are_those_whose_pipeline_it_can_hold():
    assert cached_roles(replace(MLRC_DATA, cache_images=False)) == []
    assert cached_roles(replace(MLRC_DATA, cache_images=True)) == ["training", "validation", "test"]
    traditional = replace(
        MLRC_DATA, split="traditional", resize_before_crop=False, cache_images=True
    )  # the random crop of the original image comes first in training: files
    assert cached_roles(traditional) == ["validation", "test"]


def _cache_of(tree: Path, cache_dir: Path):
    index = read_cub(tree)
    _, eval_tf = build_transforms(MLRC_DATA)
    return ensure_image_cache("cub", index.paths, eval_tf, cache_dir, progress=False)


def _counting_builds(monkeypatch) -> list[Path]:
    builds = []
    original = image_cache_module.write_image_cache

    def counting(directory, *args, **kwargs):
        builds.append(directory)
        return original(directory, *args, **kwargs)

    monkeypatch.setattr(image_cache_module, "write_image_cache", counting)
    return builds


def test_a_valid_cache_is_reused_and_a_truncated_one_is_rebuilt_not_read(
    cub_jpegs, tmp_path, monkeypatch
):
    builds = _counting_builds(monkeypatch)
    cache = _cache_of(cub_jpegs, tmp_path)
    expected = [cache.pixels(row).copy() for row in range(len(cache))]
    assert _cache_of(cub_jpegs, tmp_path).directory == cache.directory and len(builds) == 1

    pixels_file = cache.directory / PIXELS
    os.truncate(pixels_file, pixels_file.stat().st_size - 100)  # e.g. a disk that filled up
    assert not cache_is_complete(cache.directory)
    rebuilt = _cache_of(cub_jpegs, tmp_path)
    assert len(builds) == 2 and cache_is_complete(rebuilt.directory)
    assert all(np.array_equal(rebuilt.pixels(r), expected[r]) for r in range(len(rebuilt)))


def test_a_cache_of_changed_files_is_rebuilt(cub_jpegs, tmp_path, monkeypatch):
    tree = tmp_path / "tree"
    os.system(f"cp -r '{cub_jpegs}' '{tree}'")  # a copy this test may change
    builds = _counting_builds(monkeypatch)
    cache = _cache_of(tree, tmp_path / "cache")
    changed = read_cub(tree).paths[5]
    Image.new("RGB", (80, 60), (10, 200, 30)).save(changed, quality=90)
    os.utime(changed, ns=(10**18, 10**18))  # a new modification time, whatever the clock
    rebuilt = _cache_of(tree, tmp_path / "cache")
    assert len(builds) == 2 and rebuilt.directory == cache.directory
    row = int(rebuilt.rows_of([changed])[0])
    _, eval_tf = build_transforms(MLRC_DATA)
    fresh = np.asarray(eval_tf.first(Image.open(changed).convert("RGB")))
    assert np.array_equal(rebuilt.pixels(row), fresh)
    manifest = json.loads((rebuilt.directory / "manifest.json").read_text())
    assert manifest["first_steps"] == [repr(step) for step in eval_tf.first.transforms]


def _build_in_process(tree: str, cache_dir: str, barrier, results) -> None:
    barrier.wait()  # both processes start building at the same moment
    cache = _cache_of(Path(tree), Path(cache_dir))
    digest = hashlib.sha256((cache.directory / PIXELS).read_bytes()).hexdigest()
    results.put((str(cache.directory), digest, cache_is_complete(cache.directory)))


def test_two_processes_building_the_same_cache_at_once_both_get_a_whole_one(cub_jpegs, tmp_path):
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(2), context.Queue()
    processes = [
        context.Process(
            target=_build_in_process, args=(str(cub_jpegs), str(tmp_path), barrier, results)
        )
        for _ in range(2)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert outcomes[0] == outcomes[1] and outcomes[0][2]
    assert [p.name for p in tmp_path.iterdir()] == [Path(outcomes[0][0]).name]  # no leftovers
    sequential = _cache_of(cub_jpegs, tmp_path / "sequential")
    digest = hashlib.sha256((sequential.directory / PIXELS).read_bytes()).hexdigest()
    assert digest == outcomes[0][1]


def test_a_build_with_decoding_processes_stores_the_same_bytes(cub_jpegs, tmp_path):
    index = read_cub(cub_jpegs)
    train_tf, _ = build_transforms(MLRC_DATA)
    here = ensure_image_cache("cub", index.paths, train_tf, tmp_path / "a", progress=False)
    pool = ensure_image_cache(
        "cub", index.paths, train_tf, tmp_path / "b", workers=2, progress=False
    )
    assert (here.directory / PIXELS).read_bytes() == (pool.directory / PIXELS).read_bytes()
    assert np.array_equal(here.index, pool.index)


def test_an_image_set_refuses_a_cache_of_other_first_steps(cub_jpegs, tmp_path):
    index = read_cub(cub_jpegs)
    train_tf, eval_tf = build_transforms(MLRC_DATA)
    cache = ensure_image_cache("cub", index.paths, eval_tf, tmp_path, progress=False)
    with pytest.raises(ValueError, match="image cache holds images after"):
        image_set_for_images(index, [0, 1], train_tf, image_cache=cache)
    other = ensure_image_cache("cub", index.paths[:3], eval_tf, tmp_path, progress=False)
    with pytest.raises(KeyError, match="not in the image cache"):
        image_set_for_images(index, [5], eval_tf, image_cache=other)
