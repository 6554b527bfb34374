"""In-Shop Clothes Retrieval (DeepFashion): 7,982 clothing items, 52,712 images.

Layout (``root`` is ``Inshop_Clothes/`` or its parent)::

    Eval/list_eval_partition.txt   line 1: number of images; line 2: header
                                   "image_name item_id evaluation_status"; then rows such as
                                   "img/WOMEN/Dresses/id_00000002/02_1_front.jpg id_00000002 train"
    Img/img/WOMEN/Dresses/id_00000002/02_1_front.jpg ...

Classes are the item ids in sorted order; ``partitions`` holds each image's evaluation status
(``"train"``, ``"query"`` or ``"gallery"``). The traditional protocol trains on the train
partition and evaluates query -> gallery (:func:`query_gallery_split`). The MLRC split, which the
paper does not use for In-Shop, is applied like for the other datasets: first half of the sorted
item ids for train+val, second half for test, whatever their partitions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmark.data._layout import find_dataset_dir, read_rows, require_files
from benchmark.data.dataset_splits import TraditionalSplit
from benchmark.data.index import DatasetIndex, labels_from_keys
from benchmark.data.registry import register_dataset
from benchmark.errors import DatasetLayoutError

INSHOP_LAYOUT = (
    "Inshop_Clothes/ with Eval/list_eval_partition.txt (count line, header line, rows "
    "'img/... item_id train|query|gallery') and the images under Img/img/..."
)
INSHOP_INDEX_FILE = "Eval/list_eval_partition.txt"
INSHOP_PARTITIONS = ("train", "query", "gallery")


def query_gallery_split(index: DatasetIndex) -> TraditionalSplit:
    """In-Shop's official split: train on the train partition, evaluate query -> gallery."""
    return TraditionalSplit(
        train=index.image_ids_of_partition("train"),
        query=index.image_ids_of_partition("query"),
        gallery=index.image_ids_of_partition("gallery"),
    )


@register_dataset(
    "inshop", display="In-Shop", layout=INSHOP_LAYOUT, official_split=query_gallery_split
)
def read_inshop(root: str | Path) -> DatasetIndex:
    """Index In-Shop from ``Eval/list_eval_partition.txt``."""
    root = find_dataset_dir(
        Path(root),
        INSHOP_INDEX_FILE,
        ("Inshop_Clothes", "In-shop Clothes Retrieval Benchmark", "inshop", "InShop"),
        "inshop",
        INSHOP_LAYOUT,
    )
    require_files(root, [INSHOP_INDEX_FILE], "inshop", INSHOP_LAYOUT)
    index_file = root / INSHOP_INDEX_FILE
    first = index_file.read_text(encoding="utf-8", errors="replace").split("\n", 1)[0].strip()
    try:
        expected = int(first)
    except ValueError:
        raise DatasetLayoutError(
            f"{index_file}, line 1: expected the number of images, got {first!r}; "
            f"expected layout: {INSHOP_LAYOUT}"
        ) from None

    paths: list[Path] = []
    items: list[str] = []
    partitions: list[str] = []
    for line, fields in read_rows(index_file, columns=3, skip=2):
        status = fields[-1]
        if status not in INSHOP_PARTITIONS:
            raise DatasetLayoutError(
                f"{index_file}, line {line}: evaluation_status {status!r} is not one of "
                f"{list(INSHOP_PARTITIONS)}"
            )
        paths.append(root / "Img" / " ".join(fields[:-2]))
        items.append(fields[-2])
        partitions.append(status)
    if len(paths) != expected:
        raise DatasetLayoutError(
            f"{index_file}: line 1 announces {expected} images but {len(paths)} rows follow "
            "(truncated file?)"
        )
    if not paths:
        raise DatasetLayoutError(f"{index_file} lists no images")

    labels, item_ids = labels_from_keys(items)
    return DatasetIndex(
        name="inshop",
        root=root,
        paths=tuple(paths),
        labels=labels,
        class_names=tuple(item_ids),
        partitions=np.array(partitions),
    )
