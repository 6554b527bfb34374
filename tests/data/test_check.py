import json
import os

from PIL import Image

from benchmark.config import DataConfig
from benchmark.data import check_image, load_dataset, run_data_check
from benchmark.data.image_cache import image_cache_key

JSON_KEYS = {
    "dataset",
    "num_images",
    "num_classes",
    "trainval_classes",
    "test_classes",
    "folds",
    "problems",
}


def _json(capsys):
    out = capsys.readouterr().out
    return json.loads(out)


def test_clean_dataset_passes_with_split_and_folds_by_class_name(small_cub, capsys):
    assert run_data_check("cub", str(small_cub), as_json=True, progress=False) == 0
    report = _json(capsys)
    assert set(report) >= JSON_KEYS
    assert report["dataset"] == "cub" and report["problems"] == []
    assert report["num_images"] == 16 and report["num_classes"] == 8
    assert report["trainval_classes"] == [
        "001.Black_footed_Albatross",
        "002.Species_2",
        "003.Species_3",
        "004.Species_4",
    ]
    assert report["test_classes"] == [f"{k:03d}.Species_{k}" for k in (5, 6, 7, 8)]
    assert len(report["folds"]) == 4
    for fold in report["folds"]:
        assert set(fold) >= {"train_classes", "val_classes"}
        assert len(fold["train_classes"]) == 3 and len(fold["val_classes"]) == 1
        assert not set(fold["val_classes"]) & set(report["test_classes"])


def test_text_report_shows_counts_split_and_fold_ranges(cub_root, capsys):
    assert run_data_check("cub", str(cub_root), progress=False) == 0
    out = capsys.readouterr().out
    assert "images: 400, classes: 200" in out
    assert "train+val 100 classes (001.Black_footed_Albatross .. 100.Species_100)" in out
    assert "fold 0: train 75 classes [0-74], val 25 classes [75-99]" in out
    assert "fold 1: train 75 classes [25-99], val 25 classes [0-24]" in out
    assert "problems: none" in out


def test_corrupt_and_missing_images_are_all_listed(small_cub, capsys):
    images = sorted((small_cub / "images").glob("*/*.jpg"))
    images = [p for p in images if not p.name.startswith("._")]
    images[0].write_bytes(b"garbage, not a jpeg")
    images[3].unlink()
    data = images[5].read_bytes()
    images[5].write_bytes(data[: len(data) // 2])  # truncated JPEG: opens, fails to decode
    assert run_data_check("cub", str(small_cub), as_json=True, progress=False) == 1
    problems = _json(capsys)["problems"]
    assert len(problems) == 3
    assert any(str(images[0]) in p and "unreadable" in p for p in problems)
    assert any(str(images[3]) in p and "missing" in p for p in problems)
    assert any(str(images[5]) in p and "unreadable" in p for p in problems)


def test_missing_index_file_is_reported_clearly(small_cub, capsys):
    (small_cub / "images.txt").unlink()
    (small_cub / "classes.txt").unlink()
    assert run_data_check("cub", str(small_cub), progress=False) == 1
    out = capsys.readouterr().out
    assert str(small_cub / "images.txt") in out
    assert str(small_cub / "classes.txt") in out
    assert "expected layout" in out


def test_missing_root_is_a_problem_in_json(tmp_path, capsys):
    assert run_data_check("sop", str(tmp_path / "absent"), as_json=True, progress=False) == 1
    report = _json(capsys)
    assert report["num_images"] == 0 and report["folds"] == []
    assert "does not exist" in report["problems"][0]


def test_unknown_dataset_is_a_problem(capsys):
    assert run_data_check("imagenet", None, progress=False) == 1
    assert "unknown dataset 'imagenet'" in capsys.readouterr().out


def test_check_uses_the_configured_fold_scheme(cars_root, capsys):
    config = DataConfig(fold_scheme="even")
    assert run_data_check("cars196", str(cars_root), True, config, progress=False) == 0
    report = _json(capsys)
    assert [len(f["val_classes"]) for f in report["folds"]] == [24, 25, 25, 24]
    assert report["fold_ranges"][0] == {"train": "0-73", "val": "74-97"}


def test_inshop_report_counts_partitions(inshop_root, capsys):
    config = DataConfig(n_folds=3)
    assert run_data_check("inshop", str(inshop_root), True, config, progress=False) == 0
    report = _json(capsys)
    assert len(report["folds"]) == 3
    assert report["partitions"] == {"gallery": 4, "query": 4, "train": 9}
    assert report["traditional"] == {"train_images": 9, "query_images": 4, "gallery_images": 4}


def test_check_image_accepts_a_good_png(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "ok.png")
    assert check_image(tmp_path / "ok.png") is None


def test_too_few_classes_for_the_folds_still_reports_the_split(inshop_root, capsys):
    assert run_data_check("inshop", str(inshop_root), True, progress=False) == 1
    report = _json(capsys)
    assert len(report["trainval_classes"]) == 3 and report["folds"] == []
    assert report["problems"] == [
        "3 train+val classes cannot make 4 class-disjoint folds; lower data.n_folds or use "
        "a dataset with more classes"
    ]


def test_a_file_name_that_is_not_utf8_is_found_not_reported_missing(small_cub, capsys):
    """images.txt lists the name's bytes (Latin-1 here); the file is read and cached."""
    images_txt = small_cub / "images.txt"
    lines = images_txt.read_bytes().splitlines()
    image_id, relative = lines[0].split(b" ", 1)
    renamed = relative.replace(b".jpg", b"_caf\xe9.jpg")  # 'café' in Latin-1: not UTF-8
    os.rename(os.fsencode(small_cub / "images") + b"/" + relative,
              os.fsencode(small_cub / "images") + b"/" + renamed)  # fmt: skip
    images_txt.write_bytes(b"\n".join([image_id + b" " + renamed, *lines[1:]]) + b"\n")

    assert run_data_check("cub", str(small_cub), as_json=True, progress=False) == 0
    report = _json(capsys)
    assert report["problems"] == [] and report["num_images"] == 16
    index = load_dataset("cub", str(small_cub))
    assert os.fsencode(index.paths[0]).endswith(b"_caf\xe9.jpg")
    assert image_cache_key("cub", index.paths, None)["count"] == 16  # any file name hashes
