import pytest

from benchmark.config import DataConfig
from benchmark.data import dataset_names, load_dataset
from benchmark.errors import DatasetLayoutError, UnknownDatasetError


def test_known_dataset_names():
    assert dataset_names() == ["cub", "cars196", "sop", "inshop", "folder", "synthetic"]


def test_unknown_dataset_lists_the_available_names():
    with pytest.raises(UnknownDatasetError) as error:
        load_dataset("imagenet", "/tmp")
    for name in dataset_names():
        assert name in str(error.value)


def test_real_dataset_without_root_says_to_pass_root_or_set_data_root(monkeypatch):
    monkeypatch.delenv("MLRC_DATA", raising=False)
    with pytest.raises(DatasetLayoutError) as error:
        load_dataset("cub")
    assert "--root" in str(error.value) and "data.root" in str(error.value)


def test_root_comes_from_the_config_when_not_given(cub_root):
    index = load_dataset("cub", None, DataConfig(root=str(cub_root)))
    assert index.root == cub_root


def test_explicit_root_wins_over_the_config(cub_root, tmp_path):
    index = load_dataset("cub", cub_root, DataConfig(root=str(tmp_path / "elsewhere")))
    assert index.root == cub_root


def test_root_falls_back_to_mlrc_data_directory(monkeypatch, cars_root):
    monkeypatch.setenv("MLRC_DATA", str(cars_root.parent))
    assert load_dataset("cars196").root == cars_root


def test_dataset_names_are_case_insensitive(sop_root):
    assert load_dataset("SOP", sop_root).name == "sop"
