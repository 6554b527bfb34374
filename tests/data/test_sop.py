import numpy as np
import pytest

from benchmark.data import load_dataset, mlrc_split, traditional_split
from benchmark.errors import DatasetLayoutError

HEADER = "image_id class_id super_class_id path\n"


def test_sop_index_reads_both_ebay_files_with_partitions(sop_root):
    index = load_dataset("sop", sop_root)
    assert index.name == "sop"
    assert index.num_classes == 12 and index.num_images == 24
    assert index.class_names == tuple(str(c) for c in range(1, 13))
    assert index.paths[0] == sop_root / "bicycle_final" / "111085122871_0.JPG"
    assert all(p.is_file() for p in index.paths)
    assert index.partitions.tolist() == ["train"] * 12 + ["test"] * 12
    assert set(index.labels[index.partitions == "train"]) == set(range(6))


def test_sop_class_names_follow_numeric_not_string_order(tmp_path):
    rows = [f"{i} {c} 1 bicycle_final/{i}.JPG" for i, c in enumerate([2, 10, 1], start=1)]
    (tmp_path / "Ebay_train.txt").write_text(HEADER + "\n".join(rows) + "\n")
    (tmp_path / "Ebay_test.txt").write_text(HEADER + "4 11 1 bicycle_final/4.JPG\n")
    index = load_dataset("sop", tmp_path)
    assert index.class_names == ("1", "2", "10", "11")
    assert index.labels.tolist() == [1, 2, 0, 3]


def test_sop_mlrc_split_moves_class_11318_to_the_test_half(tmp_path):
    # Only the index files, at full size: 11318 training and 11316 test classes.
    train = [f"{c} {c} 1 bicycle_final/{c}_0.JPG" for c in range(1, 11319)]
    test = [f"{c} {c} 2 chair_final/{c}_0.JPG" for c in range(11319, 22635)]
    (tmp_path / "Ebay_train.txt").write_text(HEADER + "\n".join(train) + "\n")
    (tmp_path / "Ebay_test.txt").write_text(HEADER + "\n".join(test) + "\n")
    index = load_dataset("sop", tmp_path)
    split = mlrc_split(index)
    assert len(split.trainval_classes) == len(split.test_classes) == 11317
    assert index.class_names[split.trainval_classes[-1]] == "11317"
    assert index.class_names[split.test_classes[0]] == "11318"
    assert index.partitions[index.labels == split.test_classes[0]].tolist() == ["train"]


def test_sop_traditional_split_uses_the_ebay_files(sop_root):
    index = load_dataset("sop", sop_root)
    split = traditional_split(index)
    assert split.train.tolist() == list(range(12))
    assert split.query.tolist() == list(range(12, 24))
    assert split.gallery is None


def test_sop_missing_test_file_is_named(tmp_path):
    (tmp_path / "Ebay_train.txt").write_text(HEADER + "1 1 1 bicycle_final/1.JPG\n")
    with pytest.raises(DatasetLayoutError) as error:
        load_dataset("sop", tmp_path)
    assert str(tmp_path / "Ebay_test.txt") in str(error.value)
    assert str(tmp_path / "Ebay_train.txt") not in str(error.value)


def test_sop_short_row_names_file_and_line(tmp_path):
    (tmp_path / "Ebay_train.txt").write_text(HEADER + "1 1 1 bicycle_final/1.JPG\n2 2 1\n")
    (tmp_path / "Ebay_test.txt").write_text(HEADER + "3 3 1 bicycle_final/3.JPG\n")
    with pytest.raises(DatasetLayoutError, match=r"Ebay_train.txt, line 3"):
        load_dataset("sop", tmp_path)


def test_sop_labels_are_int64(sop_root):
    assert load_dataset("sop", sop_root).labels.dtype == np.int64
