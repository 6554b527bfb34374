import numpy as np
import pytest
import scipy.io

from benchmark.data import load_dataset, mlrc_split, traditional_split
from benchmark.errors import DatasetLayoutError


def test_cars196_index_reads_paths_and_classes_from_cars_annos_mat(cars_root):
    index = load_dataset("cars196", cars_root)
    assert index.name == "cars196"
    assert index.num_classes == 196 and index.num_images == 392
    assert index.class_names == tuple(str(c) for c in range(1, 197))
    mat = scipy.io.loadmat(cars_root / "cars_annos.mat", squeeze_me=True)["annotations"]
    assert [p.relative_to(cars_root).as_posix() for p in index.paths] == list(
        mat["relative_im_path"]
    )
    np.testing.assert_array_equal(index.labels, mat["class"].astype(np.int64) - 1)
    assert all(p.is_file() for p in index.paths)


def test_cars196_is_found_under_a_stanford_cars_folder(tmp_path, cars_root):
    (tmp_path / "stanford_cars").symlink_to(cars_root, target_is_directory=True)
    assert load_dataset("cars196", tmp_path).num_images == 392


def test_cars196_mlrc_split_is_classes_1_to_98_then_99_to_196_ignoring_test_flag(cars_root):
    index = load_dataset("cars196", cars_root)
    split = mlrc_split(index)
    names = np.array(index.class_names)
    assert names[split.trainval_classes].tolist() == [str(c) for c in range(1, 99)]
    assert names[split.test_classes].tolist() == [str(c) for c in range(99, 197)]


def test_cars196_traditional_split_trains_on_0_to_97(cars_root):
    index = load_dataset("cars196", cars_root)
    split = traditional_split(index)
    assert set(index.labels[split.train]) == set(range(98))
    assert set(index.labels[split.query]) == set(range(98, 196))


def test_cars196_missing_mat_file_is_named(tmp_path):
    (tmp_path / "cars196" / "car_ims").mkdir(parents=True)
    with pytest.raises(DatasetLayoutError) as error:
        load_dataset("cars196", tmp_path / "cars196")
    assert str(tmp_path / "cars196" / "cars_annos.mat") in str(error.value)
    assert "car_ims" in str(error.value)


def test_cars196_mat_without_annotations_is_a_layout_error(tmp_path):
    scipy.io.savemat(tmp_path / "cars_annos.mat", {"something_else": np.zeros(3)})
    with pytest.raises(DatasetLayoutError, match="annotations"):
        load_dataset("cars196", tmp_path)
