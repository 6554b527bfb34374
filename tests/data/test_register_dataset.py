"""register_dataset: a reader registered once is loaded, split, checked and labelled by name."""

from __future__ import annotations

import numpy as np
import pytest
from dataset_trees import make_folder

from benchmark.config import DataConfig
from benchmark.data import (
    DatasetIndex,
    TraditionalSplit,
    dataset_names,
    get_dataset_spec,
    load_dataset,
    mlrc_split,
    read_folder,
    register_dataset,
    run_data_check,
    traditional_split,
)
from benchmark.errors import DatasetLayoutError, UnknownDatasetError
from benchmark.losses import get_loss_spec
from benchmark.losses.search_space import load_search_space
from benchmark.registry import registry_restored
from benchmark.report.labels import dataset_label

TOY_LAYOUT = "<root>/<class>/<images>, classes starting with 'test_' are the official test set"


def test_official_split(index: DatasetIndex) -> TraditionalSplit:
    test = [k for k, name in enumerate(index.class_names) if name.startswith("test_")]
    train = [k for k in range(index.num_classes) if k not in test]
    return TraditionalSplit(
        train=index.image_ids_of_classes(train), query=index.image_ids_of_classes(test)
    )


test_official_split.__test__ = False  # a split function, not a test


def read_toy(root):
    return read_folder(root, name="whatever the reader says")


@pytest.fixture
def toy_root(tmp_path):
    return make_folder(tmp_path, {"a": 2, "test_b": 3, "c": 1, "d": 2})


def test_a_registered_reader_is_loaded_by_name_and_the_index_carries_that_name(toy_root):
    register_dataset("toy", display="Toy set", layout=TOY_LAYOUT)(read_toy)
    assert dataset_names()[-1] == "toy"
    index = load_dataset("TOY", toy_root)
    assert index.name == "toy" and index.class_names == ("a", "c", "d", "test_b")
    assert index.num_images == 8


def test_the_official_split_is_the_registered_one_else_class_halves(toy_root):
    register_dataset("toy", display="Toy", layout=TOY_LAYOUT, official_split=test_official_split)(
        read_toy
    )
    register_dataset("halves", display="Halves", layout=TOY_LAYOUT)(read_toy)
    toy = traditional_split(load_dataset("toy", toy_root))
    assert toy.train.tolist() == [0, 1, 2, 3, 4] and toy.query.tolist() == [5, 6, 7]

    index = load_dataset("halves", toy_root)
    halves = traditional_split(index)
    classes = mlrc_split(index)
    assert np.isin(index.labels[halves.train], classes.trainval_classes).all()
    assert halves.train.tolist() == [0, 1, 2] and halves.query.tolist() == [3, 4, 5, 6, 7]
    assert halves.gallery is None


def test_data_check_reports_the_registered_official_split(toy_root, capsys):
    register_dataset("toy", display="Toy", layout=TOY_LAYOUT, official_split=test_official_split)(
        read_toy
    )
    config = DataConfig(n_folds=2)
    assert run_data_check("toy", str(toy_root), config=config, progress=False) == 0
    out = capsys.readouterr().out
    assert "traditional split (images): train 5, query 3" in out


def test_a_reader_with_a_config_parameter_receives_the_protocol_data_settings(toy_root):
    seen = []

    def read_with_config(root, config):
        seen.append(config.image_size)
        return read_folder(root)

    register_dataset("configured", display="C", layout=TOY_LAYOUT)(read_with_config)
    load_dataset("configured", toy_root, DataConfig(image_size=17))
    assert seen == [17]


def test_a_missing_root_names_the_dataset_and_its_layout(tmp_path, monkeypatch):
    monkeypatch.delenv("MLRC_DATA", raising=False)
    register_dataset("toy", display="Toy", layout=TOY_LAYOUT)(read_toy)
    with pytest.raises(DatasetLayoutError, match=r"no root given for dataset 'toy'.*'test_'"):
        load_dataset("toy")
    with pytest.raises(DatasetLayoutError, match=r"toy root '.*nowhere' does not exist.*'test_'"):
        load_dataset("toy", tmp_path / "nowhere")


def test_mlrc_data_holds_registered_datasets_by_name(toy_root, monkeypatch):
    register_dataset("my_data", display="Mine", layout=TOY_LAYOUT)(read_toy)
    monkeypatch.setenv("MLRC_DATA", str(toy_root.parent))
    assert load_dataset("my_data").root == toy_root


def test_a_reader_returning_something_else_than_an_index_is_a_type_error(toy_root):
    register_dataset("broken", display="B", layout=TOY_LAYOUT)(lambda root: [root])
    with pytest.raises(TypeError, match="reader of dataset 'broken' returned list"):
        load_dataset("broken", toy_root)


def test_names_are_unique_lower_case_and_replaceable_on_request():
    register_dataset("toy", display="Toy", layout=TOY_LAYOUT)(read_toy)
    with pytest.raises(ValueError, match="'toy' is already registered"):
        register_dataset("toy", display="Other", layout=TOY_LAYOUT)(read_folder)
    register_dataset("toy", display="Other", layout=TOY_LAYOUT, replace=True)(read_folder)
    assert get_dataset_spec("toy").display == "Other"
    with pytest.raises(ValueError, match="lower case"):
        register_dataset("MyData", display="M", layout=TOY_LAYOUT)
    with pytest.raises(ValueError, match="already registered"):
        register_dataset("cub", display="Birds", layout=TOY_LAYOUT)(read_toy)


def test_registry_restored_forgets_what_was_registered_inside():
    with registry_restored():
        register_dataset("toy", display="Toy", layout=TOY_LAYOUT)(read_toy)
        assert "toy" in dataset_names()
    assert "toy" not in dataset_names()
    with pytest.raises(UnknownDatasetError, match=r"unknown dataset 'toy'.*--plugin"):
        get_dataset_spec("toy")


def test_tables_label_a_dataset_by_its_registration():
    assert [dataset_label(name) for name in ("cub", "cars196", "sop", "inshop")] == [
        "CUB",
        "Cars196",
        "SOP",
        "In-Shop",
    ]
    assert dataset_label("toy") == "toy"
    register_dataset("toy", display="Toy set", layout=TOY_LAYOUT)(read_toy)
    assert dataset_label("toy") == "Toy set"


def test_search_spaces_accept_a_registered_dataset_and_refuse_an_unknown_one():
    spec = get_loss_spec("mfcwms")
    with pytest.raises(UnknownDatasetError, match="unknown dataset 'toy'"):
        load_search_space(spec, "toy")
    register_dataset("toy", display="Toy", layout=TOY_LAYOUT)(read_toy)
    assert load_search_space(spec, "toy").params == load_search_space(spec).params
