import hashlib
import itertools
import time

import numpy as np
import pytest

from benchmark.config import DataConfig
from benchmark.data import class_attributes, load_dataset, mlrc_split
from benchmark.data import synthetic as synthetic_module
from benchmark.errors import ConfigError

SMALL = DataConfig(synthetic_classes=10, synthetic_images_per_class=3, synthetic_image_size=32)


def _digest(index):
    digest = hashlib.sha256()
    for path, label in zip(index.paths, index.labels, strict=True):
        digest.update(f"{path.relative_to(index.root)}:{label}".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def test_synthetic_dataset_is_generated_into_the_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MLRC_CACHE_DIR", str(tmp_path))
    index = load_dataset("synthetic", config=SMALL)
    assert index.name == "synthetic"
    assert index.num_classes == 10 and index.num_images == 30
    assert index.root == tmp_path / "synthetic-c10-n3-s32-seed0-v1"
    assert (index.root / "manifest.json").is_file()
    assert index.class_names[0].startswith("000_")
    assert index.paths[0].suffix == ".png"
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_synthetic_dataset_is_deterministic_for_a_seed(tmp_path):
    first = load_dataset("synthetic", tmp_path / "a", SMALL)
    second = load_dataset("synthetic", tmp_path / "b", SMALL)
    assert _digest(first) == _digest(second)
    other = DataConfig(**{**SMALL.__dict__, "synthetic_seed": 1})
    assert _digest(load_dataset("synthetic", tmp_path / "c", other)) != _digest(first)


def test_synthetic_dataset_is_reused_from_the_cache(tmp_path, monkeypatch):
    first = load_dataset("synthetic", tmp_path, SMALL)

    def fail(*args, **kwargs):
        raise AssertionError("regenerated a cached dataset")

    monkeypatch.setattr(synthetic_module, "_generate", fail)
    start = time.perf_counter()
    again = load_dataset("synthetic", tmp_path, SMALL)
    assert time.perf_counter() - start < 1.0
    assert again.paths == first.paths
    assert load_dataset("synthetic", first.root, SMALL).paths == first.paths  # the folder itself


def test_killed_generation_leaves_no_half_cache(tmp_path, monkeypatch):
    original = synthetic_module.render_image
    calls = itertools.count()

    def dies_midway(*args, **kwargs):
        if next(calls) == 7:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(synthetic_module, "render_image", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        load_dataset("synthetic", tmp_path, SMALL)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(synthetic_module, "render_image", original)
    assert load_dataset("synthetic", tmp_path, SMALL).num_images == 30


def test_a_cache_folder_without_manifest_is_regenerated(tmp_path):
    target = tmp_path / "synthetic-c10-n3-s32-seed0-v1"
    (target / "junk_class").mkdir(parents=True)
    index = load_dataset("synthetic", tmp_path, SMALL)
    assert index.num_classes == 10 and "junk_class" not in index.class_names


def test_default_classes_hold_out_combinations_not_attributes():
    attributes = class_attributes(100, seed=0)
    assert len(set(attributes)) == 100
    train, test = attributes[:50], attributes[50:]
    assert not set(train) & set(test)
    for position in range(3):
        values = {a[position] for a in attributes}
        assert {a[position] for a in train} == values == {a[position] for a in test}
    for i, j in itertools.combinations(range(3), 2):  # every attribute pair occurs on both sides
        assert {(a[i], a[j]) for a in train} == {(a[i], a[j]) for a in test}


def test_synthetic_class_names_carry_their_attributes(tmp_path):
    index = load_dataset("synthetic", tmp_path, SMALL)
    split = mlrc_split(index)
    for k, (shape, colour, pattern) in enumerate(class_attributes(10, seed=0)):
        assert index.class_names[k] == f"{k:03d}_{shape}_{colour}_{pattern}"
    assert len(split.trainval_classes) == len(split.test_classes) == 5


def test_synthetic_images_have_the_configured_size(tmp_path):
    from PIL import Image

    config = DataConfig(synthetic_classes=4, synthetic_images_per_class=1, synthetic_image_size=48)
    index = load_dataset("synthetic", tmp_path, config)
    with Image.open(index.paths[0]) as image:
        assert image.size == (48, 48) and image.mode == "RGB"
    pixels = np.asarray(Image.open(index.paths[0]))
    assert pixels.std() > 10  # not a blank image


def test_synthetic_settings_are_validated(tmp_path):
    with pytest.raises(ConfigError, match="synthetic_classes"):
        load_dataset("synthetic", tmp_path, DataConfig(synthetic_classes=1000))


@pytest.mark.slow
def test_default_synthetic_dataset_generates_within_30_cpu_seconds(tmp_path):
    # CPU time of this process, not wall time: the generation is single-threaded, and a busy
    # machine must not fail the test (about 6 s on one core of a laptop-class CPU).
    start = time.process_time()
    index = load_dataset("synthetic", tmp_path, DataConfig())
    assert time.process_time() - start < 30
    assert index.num_classes == 100 and index.num_images == 3000
