"""CUB-200-2011: 200 bird species, 11,788 images.

Layout (``root`` is ``CUB_200_2011/`` or its parent)::

    images.txt               <image_id> <path under images/>
    image_class_labels.txt   <image_id> <class_id 1..200>
    classes.txt              <class_id> <folder name, e.g. 001.Black_footed_Albatross>
    images/<NNN.Class_name>/<file>.jpg

Copies without the three text files (only ``images/``) are read folder by folder, as MLRC's
code does. Either way, macOS resource forks (``._file.jpg``) and hidden files are skipped.
``train_test_split.txt`` is not used: metric learning splits CUB by class (1-100 / 101-200),
which is the registry's default official split.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from benchmark.data._layout import (
    find_dataset_dir,
    is_image_name,
    is_junk_name,
    parse_int,
    read_rows,
    require_files,
)
from benchmark.data.index import DatasetIndex
from benchmark.data.registry import register_dataset
from benchmark.errors import DatasetLayoutError

CUB_LAYOUT = (
    "CUB_200_2011/ with images.txt, image_class_labels.txt, classes.txt and "
    "images/<NNN.Class_name>/<file>.jpg"
)
CUB_INDEX_FILES = ["images.txt", "image_class_labels.txt", "classes.txt"]


@register_dataset("cub", display="CUB", layout=CUB_LAYOUT)
def read_cub(root: str | Path) -> DatasetIndex:
    """Index CUB-200-2011 from its text files (or, without them, from ``images/``)."""
    root = find_dataset_dir(Path(root), "images.txt", ("CUB_200_2011",), "cub", CUB_LAYOUT)
    if not (root / "images.txt").exists():
        if (root / "CUB_200_2011").is_dir():
            root = root / "CUB_200_2011"
        has_any_index = any((root / name).exists() for name in CUB_INDEX_FILES)
        if (root / "images").is_dir() and not has_any_index:
            return _read_cub_folders(root)
    require_files(root, CUB_INDEX_FILES, "cub", CUB_LAYOUT)

    images_file = root / "images.txt"
    relative: dict[int, str] = {}
    for line, (image_id, path) in _pairs(images_file):
        relative[parse_int(image_id, images_file, line, "image_id")] = path

    labels_file = root / "image_class_labels.txt"
    class_of: dict[int, int] = {}
    for line, (image_id, class_id) in _pairs(labels_file):
        key = parse_int(image_id, labels_file, line, "image_id")
        class_of[key] = parse_int(class_id, labels_file, line, "class_id")

    classes_file = root / "classes.txt"
    class_name: dict[int, str] = {}
    for line, (class_id, name) in _pairs(classes_file):
        class_name[parse_int(class_id, classes_file, line, "class_id")] = name

    unlabeled = sorted(set(relative) - set(class_of))
    if unlabeled:
        raise DatasetLayoutError(
            f"{labels_file}: no class for image id(s) {unlabeled[:5]} listed in {images_file}"
        )
    unknown = sorted(set(class_of.values()) - set(class_name))
    if unknown:
        raise DatasetLayoutError(f"{labels_file}: class id(s) {unknown[:5]} not in {classes_file}")

    image_ids = [i for i in sorted(relative) if not is_junk_name(Path(relative[i]).name)]
    if not image_ids:
        raise DatasetLayoutError(f"{images_file} lists no images; expected layout: {CUB_LAYOUT}")
    class_ids = sorted({class_of[i] for i in image_ids})
    position = {class_id: k for k, class_id in enumerate(class_ids)}
    return DatasetIndex(
        name="cub",
        root=root,
        paths=tuple(root / "images" / relative[i] for i in image_ids),
        labels=np.array([position[class_of[i]] for i in image_ids], dtype=np.int64),
        class_names=tuple(class_name[c] for c in class_ids),
    )


def _pairs(path: Path) -> Iterator[tuple[int, tuple[str, str]]]:
    for line, fields in read_rows(path, columns=2):
        yield line, (fields[0], " ".join(fields[1:]))


def _read_cub_folders(root: Path) -> DatasetIndex:
    images = root / "images"
    folders = sorted(p for p in images.iterdir() if p.is_dir() and not is_junk_name(p.name))
    paths: list[Path] = []
    labels: list[int] = []
    names: list[str] = []
    for folder in folders:
        files = sorted(p for p in folder.iterdir() if p.is_file() and is_image_name(p.name))
        if not files:
            continue
        paths.extend(files)
        labels.extend([len(names)] * len(files))
        names.append(folder.name)
    if not paths:
        raise DatasetLayoutError(f"cub: no images under '{images}'; expected layout: {CUB_LAYOUT}")
    return DatasetIndex(
        name="cub",
        root=root,
        paths=tuple(paths),
        labels=np.array(labels, dtype=np.int64),
        class_names=tuple(names),
    )
