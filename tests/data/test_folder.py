import pytest
from PIL import Image

from benchmark.data import load_dataset, mlrc_split, traditional_split
from benchmark.errors import DatasetLayoutError


def _image(path, colour=(10, 20, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (6, 6), colour).save(path)


def test_folder_dataset_has_one_class_per_sorted_subfolder(tmp_path):
    for name, count in (("zebra", 2), ("apple", 3), ("mango", 1)):
        for j in range(count):
            _image(tmp_path / name / f"{j}.png")
    index = load_dataset("folder", tmp_path)
    assert index.name == "folder"
    assert index.class_names == ("apple", "mango", "zebra")
    assert index.labels.tolist() == [0, 0, 0, 1, 2, 2]
    assert index.paths[0] == tmp_path / "apple" / "0.png"


def test_folder_dataset_ignores_hidden_files_resource_forks_and_non_images(tmp_path):
    _image(tmp_path / "cat" / "a.jpg")
    _image(tmp_path / "cat" / "B.JPEG")
    (tmp_path / "cat" / "._a.jpg").write_bytes(b"\x00\x05\x16\x07")
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    (tmp_path / "cat" / ".DS_Store").write_bytes(b"\x00")
    (tmp_path / ".hidden_class").mkdir()
    _image(tmp_path / ".hidden_class" / "x.png")
    (tmp_path / "empty_class").mkdir()
    _image(tmp_path / "dog" / "c.png")
    index = load_dataset("folder", tmp_path)
    assert index.class_names == ("cat", "dog")
    assert sorted(p.name for p in index.paths) == ["B.JPEG", "a.jpg", "c.png"]


def test_folder_with_loose_images_explains_the_expected_layout(tmp_path):
    _image(tmp_path / "a.png")
    with pytest.raises(DatasetLayoutError, match="one folder per class"):
        load_dataset("folder", tmp_path)


def test_folder_data_is_split_by_class_halves(tmp_path):
    for k in range(5):
        _image(tmp_path / f"class_{k}" / "0.png")
    index = load_dataset("folder", tmp_path)
    split = mlrc_split(index)
    assert split.trainval_classes.tolist() == [0, 1]
    assert split.test_classes.tolist() == [2, 3, 4]
    assert traditional_split(index).query.tolist() == [2, 3, 4]
