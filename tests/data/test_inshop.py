import numpy as np
import pytest

from benchmark.data import image_set_for_classes, load_dataset, mlrc_split, traditional_split
from benchmark.errors import DatasetLayoutError

ITEMS = (
    "id_00000002",
    "id_00000004",
    "id_00000007",
    "id_00000008",
    "id_00000011",
    "id_00000012",
    "id_00000015",
)


def test_inshop_index_reads_items_and_evaluation_status(inshop_root):
    index = load_dataset("inshop", inshop_root)
    assert index.name == "inshop"
    assert index.class_names == ITEMS
    assert index.num_images == 17
    first = inshop_root / "Img" / "img/WOMEN/Dresses/id_00000002/00_1_front.jpg"
    assert index.paths[0] == first and first.is_file()
    names, counts = np.unique(index.partitions, return_counts=True)
    assert dict(zip(names.tolist(), counts.tolist(), strict=True)) == {
        "gallery": 4,
        "query": 4,
        "train": 9,
    }


def test_inshop_traditional_split_is_train_then_query_against_gallery(inshop_root):
    index = load_dataset("inshop", inshop_root)
    split = traditional_split(index)
    assert {index.class_names[c] for c in index.labels[split.train]} == {
        "id_00000002",
        "id_00000007",
        "id_00000011",
        "id_00000015",
    }
    assert len(split.query) == 4 and len(split.gallery) == 4
    assert set(index.partitions[split.query]) == {"query"}
    assert set(index.partitions[split.gallery]) == {"gallery"}


def test_inshop_query_and_gallery_sets_share_one_label_space(inshop_root):
    index = load_dataset("inshop", inshop_root)
    test_items = np.unique(index.labels[index.partitions != "train"])
    query = image_set_for_classes(index, test_items, None, partition="query")
    gallery = image_set_for_classes(index, test_items, None, partition="gallery")
    assert query.class_names == gallery.class_names
    assert query.global_labels.tolist() == index.labels[index.partitions == "query"].tolist()


def test_inshop_mlrc_split_halves_the_sorted_item_ids(inshop_root):
    index = load_dataset("inshop", inshop_root)
    split = mlrc_split(index)
    assert [index.class_names[c] for c in split.trainval_classes] == list(ITEMS[:3])
    assert [index.class_names[c] for c in split.test_classes] == list(ITEMS[3:])


def test_inshop_count_line_must_match_the_rows(inshop_root, tmp_path):
    text = (inshop_root / "Eval" / "list_eval_partition.txt").read_text().splitlines()
    (tmp_path / "Eval").mkdir()
    (tmp_path / "Eval" / "list_eval_partition.txt").write_text("\n".join(text[:-1]) + "\n")
    with pytest.raises(DatasetLayoutError, match="announces 17 images but 16 rows"):
        load_dataset("inshop", tmp_path)


def test_inshop_unknown_status_names_the_line(tmp_path):
    (tmp_path / "Eval").mkdir()
    (tmp_path / "Eval" / "list_eval_partition.txt").write_text(
        "1\nimage_name item_id evaluation_status\nimg/a/id_1/x.jpg id_1 validation\n"
    )
    with pytest.raises(DatasetLayoutError, match=r"line 3: evaluation_status 'validation'"):
        load_dataset("inshop", tmp_path)


def test_inshop_missing_partition_file_is_named(tmp_path):
    with pytest.raises(DatasetLayoutError) as error:
        load_dataset("inshop", tmp_path)
    assert str(tmp_path / "Eval" / "list_eval_partition.txt") in str(error.value)
