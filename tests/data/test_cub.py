import numpy as np
import pytest

from benchmark.data import load_dataset, mlrc_split, read_cub, traditional_split
from benchmark.errors import DatasetLayoutError


def test_cub_index_lists_every_image_with_its_class(cub_root):
    index = load_dataset("cub", cub_root)
    assert index.name == "cub"
    assert index.num_classes == 200 and index.num_images == 400
    assert index.class_names[0] == "001.Black_footed_Albatross"
    assert index.class_names[-1] == "200.Common_Yellowthroat"
    assert index.labels.dtype == np.int64
    for path, label in zip(index.paths, index.labels, strict=True):
        assert path.is_absolute() and path.is_file()
        assert path.parent.name == index.class_names[label]
    assert index.partitions is None


def test_cub_skips_macos_resource_forks(cub_root):
    assert list((cub_root / "images" / "001.Black_footed_Albatross").glob("._*"))
    index = read_cub(cub_root)
    assert not any(p.name.startswith("._") for p in index.paths)


def test_cub_accepts_the_parent_of_cub_200_2011(cub_root):
    index = load_dataset("cub", cub_root.parent)
    assert index.root == cub_root and index.num_images == 400


def test_cub_without_text_files_is_read_folder_by_folder_skipping_resource_forks(small_cub):
    listed = read_cub(small_cub)
    for name in ("images.txt", "image_class_labels.txt", "classes.txt"):
        (small_cub / name).unlink()
    scanned = read_cub(small_cub)
    assert scanned.class_names == listed.class_names
    assert sorted(scanned.paths) == sorted(listed.paths)
    assert not any(p.name.startswith("._") for p in scanned.paths)


def test_cub_mlrc_split_is_classes_1_to_100_then_101_to_200(cub_root):
    index = load_dataset("cub", cub_root)
    split = mlrc_split(index)
    names = np.array(index.class_names)
    assert names[split.trainval_classes][[0, -1]].tolist() == [
        "001.Black_footed_Albatross",
        "100.Species_100",
    ]
    assert names[split.test_classes][[0, -1]].tolist() == [
        "101.Species_101",
        "200.Common_Yellowthroat",
    ]


def test_cub_traditional_split_trains_on_0_to_99_and_tests_on_100_to_199(cub_root):
    index = load_dataset("cub", cub_root)
    split = traditional_split(index)
    assert set(index.labels[split.train]) == set(range(100))
    assert set(index.labels[split.query]) == set(range(100, 200))
    assert split.gallery is None


def test_cub_missing_index_file_is_named_with_the_expected_layout(small_cub):
    (small_cub / "image_class_labels.txt").unlink()
    with pytest.raises(DatasetLayoutError) as error:
        load_dataset("cub", small_cub)
    message = str(error.value)
    assert str(small_cub / "image_class_labels.txt") in message
    assert "images.txt" in message and "expected layout" in message


def test_cub_missing_root_says_it_does_not_exist(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DatasetLayoutError, match="does not exist") as error:
        load_dataset("cub", missing)
    assert str(missing) in str(error.value)


def test_cub_malformed_row_names_file_and_line(small_cub):
    (small_cub / "image_class_labels.txt").write_text("1 1\n2 two\n")
    with pytest.raises(DatasetLayoutError, match=r"image_class_labels.txt, line 2"):
        read_cub(small_cub)
