"""Stanford Online Products: 22,634 products, 120,053 images.

Layout (``root`` is ``Stanford_Online_Products/`` or its parent)::

    Ebay_train.txt   header "image_id class_id super_class_id path", then rows such as
    Ebay_test.txt    "1 1 1 bicycle_final/111085122871_0.JPG" (paths relative to root)

Class names are the class ids as strings, in numeric order. ``partitions`` records which file
listed each image (``"train"``: class ids 1-11318, ``"test"``: 11319-22634): the official split,
which the traditional protocol uses (:func:`ebay_split`). The MLRC split ignores them and takes
the first half of the classes (1-11317) for train+val, moving class 11318 to the test half.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmark.data._layout import find_dataset_dir, parse_int, read_rows, require_files
from benchmark.data.dataset_splits import TraditionalSplit
from benchmark.data.index import DatasetIndex
from benchmark.data.registry import register_dataset
from benchmark.errors import DatasetLayoutError

SOP_LAYOUT = (
    "Stanford_Online_Products/ with Ebay_train.txt, Ebay_test.txt "
    "(header 'image_id class_id super_class_id path') and <category>_final/<file>.JPG"
)
SOP_INDEX_FILES = {"train": "Ebay_train.txt", "test": "Ebay_test.txt"}


def ebay_split(index: DatasetIndex) -> TraditionalSplit:
    """SOP's official split: the images of ``Ebay_train.txt`` train, those of ``Ebay_test.txt``
    test (class ids 1-11318 / 11319-22634)."""
    return TraditionalSplit(
        train=index.image_ids_of_partition("train"), query=index.image_ids_of_partition("test")
    )


@register_dataset("sop", display="SOP", layout=SOP_LAYOUT, official_split=ebay_split)
def read_sop(root: str | Path) -> DatasetIndex:
    """Index SOP from ``Ebay_train.txt`` and ``Ebay_test.txt``."""
    root = find_dataset_dir(
        Path(root), "Ebay_train.txt", ("Stanford_Online_Products",), "sop", SOP_LAYOUT
    )
    require_files(root, list(SOP_INDEX_FILES.values()), "sop", SOP_LAYOUT)
    paths: list[Path] = []
    class_ids: list[int] = []
    partitions: list[str] = []
    for partition, name in SOP_INDEX_FILES.items():
        index_file = root / name
        rows = 0
        for line, fields in read_rows(index_file, columns=4, skip=1):
            class_ids.append(parse_int(fields[1], index_file, line, "class_id"))
            paths.append(root / " ".join(fields[3:]))
            partitions.append(partition)
            rows += 1
        if rows == 0:
            raise DatasetLayoutError(f"{index_file} lists no images; expected layout: {SOP_LAYOUT}")

    unique = sorted(set(class_ids))
    position = {class_id: k for k, class_id in enumerate(unique)}
    return DatasetIndex(
        name="sop",
        root=root,
        paths=tuple(paths),
        labels=np.array([position[c] for c in class_ids], dtype=np.int64),
        class_names=tuple(str(c) for c in unique),
        partitions=np.array(partitions),
    )
