import numpy as np
import pytest
import torch
from PIL import Image

from benchmark.data import (
    ImageSet,
    image_set_for_classes,
    image_set_for_images,
    load_dataset,
)
from benchmark.errors import ConfigError, DatasetLayoutError


def to_tensor(image):
    return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)


def test_image_set_for_classes_remaps_labels_to_sorted_0_to_c(cub_root):
    index = load_dataset("cub", cub_root)
    images = image_set_for_classes(index, [150, 3, 77], to_tensor)
    assert isinstance(images, ImageSet)
    assert len(images) == 6 and images.num_classes == 3
    assert images.class_names == tuple(index.class_names[c] for c in (3, 77, 150))
    assert images.labels.dtype == np.int64
    assert sorted(images.labels.tolist()) == [0, 0, 1, 1, 2, 2]
    assert images.global_labels.tolist() == index.labels[images.image_ids].tolist()
    image, label = images[0]
    assert image.shape == (3, 8, 8) and isinstance(label, int)
    assert images.paths[0].parent.name == images.class_names[label]


def test_image_set_for_images_keeps_the_given_order(cub_root):
    index = load_dataset("cub", cub_root)
    images = image_set_for_images(index, [399, 0, 1], None)
    assert images.paths == (index.paths[399], index.paths[0], index.paths[1])
    assert images.labels.tolist() == [1, 0, 0]
    assert isinstance(images[0][0], Image.Image)


def test_image_set_for_images_can_share_a_label_space(cub_root):
    index = load_dataset("cub", cub_root)
    images = image_set_for_images(index, [2], None, classes=[0, 1, 2])
    assert images.num_classes == 3 and images.labels.tolist() == [1]
    with pytest.raises(ValueError, match="not in `classes`"):
        image_set_for_images(index, [10], None, classes=[0, 1])


def test_partition_filter_requires_a_dataset_with_partitions(cub_root, sop_root):
    cub = load_dataset("cub", cub_root)
    with pytest.raises(ConfigError, match="no official partitions"):
        image_set_for_classes(cub, [0], None, partition="train")
    sop = load_dataset("sop", sop_root)
    assert len(image_set_for_classes(sop, range(12), None, partition="test")) == 12


def test_corrupt_image_raises_a_layout_error_naming_the_path(small_cub):
    index = load_dataset("cub", small_cub)
    index.paths[0].write_bytes(b"this is not a jpeg")
    images = image_set_for_images(index, [0], None)
    with pytest.raises(DatasetLayoutError) as error:
        images[0]
    assert str(index.paths[0]) in str(error.value)


def test_missing_image_raises_a_layout_error_naming_the_path(small_cub):
    index = load_dataset("cub", small_cub)
    index.paths[1].unlink()
    with pytest.raises(DatasetLayoutError, match="missing") as error:
        image_set_for_images(index, [1], None)[0]
    assert str(index.paths[1]) in str(error.value)


def test_image_sets_work_with_a_dataloader(cub_root):
    index = load_dataset("cub", cub_root)
    images = image_set_for_classes(index, range(4), to_tensor)
    batch, labels = next(iter(torch.utils.data.DataLoader(images, batch_size=8)))
    assert batch.shape == (8, 3, 8, 8) and labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
