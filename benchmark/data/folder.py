"""Any dataset stored as one folder per class: ``<root>/<class_name>/<image files>``.

Classes are the sub-folders sorted by name; images are the files with an image extension
(``.jpg``, ``.png``, ...) sorted by name. Hidden files, macOS resource forks (``._x.jpg``),
other files and folders without images are ignored. This is how users bring their own data,
and how the embedded synthetic dataset is read back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmark.data._layout import find_dataset_dir, is_image_name, is_junk_name
from benchmark.data.index import DatasetIndex
from benchmark.data.registry import register_dataset
from benchmark.errors import DatasetLayoutError

FOLDER_LAYOUT = "<root>/<class_name>/<image files> (one sub-folder per class)"


@register_dataset("folder", display="Folder", layout=FOLDER_LAYOUT)
def read_folder(root: str | Path, name: str = "folder") -> DatasetIndex:
    """Index a folder-per-class tree; ``name`` is the dataset name recorded in the index."""
    root = find_dataset_dir(Path(root), ".", (), name, FOLDER_LAYOUT)
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not is_junk_name(p.name))
    paths: list[Path] = []
    labels: list[int] = []
    class_names: list[str] = []
    for folder in folders:
        files = sorted(p for p in folder.iterdir() if is_image_name(p.name) and p.is_file())
        if not files:
            continue
        paths.extend(files)
        labels.extend([len(class_names)] * len(files))
        class_names.append(folder.name)
    if not paths:
        loose = [p.name for p in root.iterdir() if is_image_name(p.name)]
        hint = " (images lie directly in the root: move them into one folder per class)"
        raise DatasetLayoutError(
            f"{name}: no class folders with images under '{root}'{hint if loose else ''}; "
            f"expected layout: {FOLDER_LAYOUT}"
        )
    return DatasetIndex(
        name=name,
        root=root,
        paths=tuple(paths),
        labels=np.array(labels, dtype=np.int64),
        class_names=tuple(class_names),
    )
