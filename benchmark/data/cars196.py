"""Cars196 (Stanford Cars): 196 car models, 16,185 images.

Layout (``root`` is ``cars196/`` / ``stanford_cars/`` or their parent)::

    cars_annos.mat   MATLAB struct array ``annotations`` with fields relative_im_path
                     (``car_ims/000001.jpg``), bbox_x1..bbox_y2, class (1..196), test
    car_ims/000001.jpg ...

Metric learning ignores the ``test`` flag and the boxes: classes 1-98 train, 99-196 test.
Class names are the class ids as strings (``"1"`` .. ``"196"``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmark.data._layout import find_dataset_dir, require_files
from benchmark.data.index import DatasetIndex
from benchmark.data.registry import register_dataset
from benchmark.errors import DatasetLayoutError

CARS196_LAYOUT = "cars196/ (or stanford_cars/) with cars_annos.mat and car_ims/<NNNNNN>.jpg"


@register_dataset("cars196", display="Cars196", layout=CARS196_LAYOUT)
def read_cars196(root: str | Path) -> DatasetIndex:
    """Index Cars196 from ``cars_annos.mat``."""
    root = find_dataset_dir(
        Path(root), "cars_annos.mat", ("cars196", "stanford_cars"), "cars196", CARS196_LAYOUT
    )
    require_files(root, ["cars_annos.mat"], "cars196", CARS196_LAYOUT)
    import scipy.io  # only where a Cars196 file is read: naming the dataset stays cheap

    mat_file = root / "cars_annos.mat"
    try:
        mat = scipy.io.loadmat(mat_file, squeeze_me=True)
    except Exception as exc:  # scipy raises several types for a damaged file
        raise DatasetLayoutError(f"cannot read '{mat_file}' as a MATLAB file: {exc}") from None
    if "annotations" not in mat:
        raise DatasetLayoutError(
            f"{mat_file}: no 'annotations' struct array; expected layout: {CARS196_LAYOUT}"
        )
    annotations = np.atleast_1d(mat["annotations"]).ravel()
    fields = annotations.dtype.names or ()
    missing = [f for f in ("relative_im_path", "class") if f not in fields]
    if missing:
        raise DatasetLayoutError(
            f"{mat_file}: 'annotations' lacks field(s) {missing}; found {list(fields)}"
        )
    try:
        relative = [str(p).strip() for p in annotations["relative_im_path"]]
        class_ids = [int(c) for c in annotations["class"]]
    except (TypeError, ValueError) as exc:
        raise DatasetLayoutError(f"{mat_file}: malformed 'annotations': {exc}") from None
    if not relative:
        raise DatasetLayoutError(f"{mat_file}: 'annotations' is empty")

    unique = sorted(set(class_ids))
    position = {class_id: k for k, class_id in enumerate(unique)}
    return DatasetIndex(
        name="cars196",
        root=root,
        paths=tuple(root / p for p in relative),
        labels=np.array([position[c] for c in class_ids], dtype=np.int64),
        class_names=tuple(str(c) for c in unique),
    )
