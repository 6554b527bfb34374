import numpy as np
import pytest

from benchmark.data import build_class_sampler
from benchmark.errors import ConfigError, DatasetLayoutError

LABELS = np.repeat(np.arange(20), 5)  # 20 classes x 5 images


def _batches(sampler, batch_size):
    indices = np.array(list(iter(sampler)))
    return indices.reshape(-1, batch_size)


def test_pair_sampler_draws_8_classes_x_4_images_per_batch():
    sampler = build_class_sampler(LABELS, batch_size=32, images_per_class=4, length=32 * 10)
    assert len(sampler) == 320
    for batch in _batches(sampler, 32):
        labels = LABELS[batch]
        classes, counts = np.unique(labels, return_counts=True)
        assert len(classes) == 8 and set(counts) == {4}


def test_classification_sampler_draws_32_distinct_classes():
    labels = np.repeat(np.arange(40), 3)
    sampler = build_class_sampler(labels, batch_size=32, images_per_class=1, length=64)
    for batch in _batches(sampler, 32):
        assert len(set(labels[batch])) == 32


def test_sampler_epochs_depend_only_on_the_global_numpy_seed():
    sampler = build_class_sampler(LABELS, batch_size=32, images_per_class=4, length=96)
    np.random.seed(7)
    first = list(iter(sampler))
    np.random.seed(3)
    list(iter(sampler))  # another epoch in between must not change the next seeded one
    np.random.seed(7)
    assert list(iter(sampler)) == first
    resumed = build_class_sampler(LABELS, batch_size=32, images_per_class=4, length=96)
    np.random.seed(7)
    assert list(iter(resumed)) == first


def test_default_length_is_the_images_rounded_down_to_whole_batches():
    assert len(build_class_sampler(LABELS, batch_size=32, images_per_class=4)) == 96


def test_too_few_classes_for_a_batch_is_a_clear_error():
    with pytest.raises(DatasetLayoutError, match="20 classes .* needs 32 distinct classes"):
        build_class_sampler(LABELS, batch_size=32, images_per_class=1)


def test_batch_size_must_be_a_multiple_of_images_per_class():
    with pytest.raises(ConfigError, match="batch_size 30"):
        build_class_sampler(LABELS, batch_size=30, images_per_class=4)


def test_length_shorter_than_a_batch_is_rejected():
    with pytest.raises(ConfigError, match="shorter than one batch"):
        build_class_sampler(LABELS, batch_size=32, images_per_class=4, length=16)
