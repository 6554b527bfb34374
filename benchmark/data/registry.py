"""Dataset names -> readers, and :func:`load_dataset`, the one entry point to every dataset."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from benchmark.config import DataConfig
from benchmark.data.cache_folder import MANIFEST
from benchmark.data.cars196 import CARS196_LAYOUT, read_cars196
from benchmark.data.cub import CUB_LAYOUT, read_cub
from benchmark.data.folder import FOLDER_LAYOUT, read_folder
from benchmark.data.index import DatasetIndex
from benchmark.data.inshop import INSHOP_LAYOUT, read_inshop
from benchmark.data.sop import SOP_LAYOUT, read_sop
from benchmark.data.synthetic import load_synthetic
from benchmark.errors import DatasetLayoutError, UnknownDatasetError

READERS: dict[str, Callable[[Path], DatasetIndex]] = {
    "cub": read_cub,
    "cars196": read_cars196,
    "sop": read_sop,
    "inshop": read_inshop,
    "folder": read_folder,
}
LAYOUTS: dict[str, str] = {
    "cub": CUB_LAYOUT,
    "cars196": CARS196_LAYOUT,
    "sop": SOP_LAYOUT,
    "inshop": INSHOP_LAYOUT,
    "folder": FOLDER_LAYOUT,
    "synthetic": "generated into $MLRC_CACHE_DIR (default ~/.cache/mlrc); --root sets that folder",
}
DATASET_NAMES: tuple[str, ...] = (*READERS, "synthetic")


def dataset_names() -> list[str]:
    """Every name :func:`load_dataset` accepts."""
    return list(DATASET_NAMES)


def load_dataset(
    name: str, root: str | Path | None = None, config: DataConfig | None = None
) -> DatasetIndex:
    """Index the dataset ``name`` found under ``root`` (no image is opened).

    ``root`` defaults to ``config.root``, then to ``$MLRC_DATA/<name>``. For ``"synthetic"``
    the root is the cache folder the dataset is generated into (default ``$MLRC_CACHE_DIR`` or
    ``~/.cache/mlrc``; a folder holding a generated dataset's ``manifest.json`` is read as is),
    and its size comes from ``config.synthetic_*``.

    Raises :class:`UnknownDatasetError` for an unknown name and :class:`DatasetLayoutError`,
    naming the path and the expected layout, for a missing root, index file or wrong layout.
    """
    key = name.strip().lower()
    if key not in DATASET_NAMES:
        raise UnknownDatasetError(
            f"unknown dataset '{name}'; available datasets: {', '.join(DATASET_NAMES)}"
        )
    config = config or DataConfig()
    if root is None:
        root = config.root
    if key == "synthetic":
        return _load_synthetic(root, config)
    if root is None and os.environ.get("MLRC_DATA"):
        root = Path(os.environ["MLRC_DATA"]) / key
    if root is None:
        raise DatasetLayoutError(
            f"no root given for dataset '{key}': pass --root <dir> (or set data.root, or "
            f"MLRC_DATA=<dir holding {key}/>) pointing to {LAYOUTS[key]}"
        )
    return READERS[key](Path(root).expanduser())


def _load_synthetic(root: str | Path | None, config: DataConfig) -> DatasetIndex:
    if root is not None and (Path(root).expanduser() / MANIFEST).is_file():
        return read_folder(Path(root).expanduser(), name="synthetic")
    return load_synthetic(
        classes=config.synthetic_classes,
        images_per_class=config.synthetic_images_per_class,
        image_size=config.synthetic_image_size,
        seed=config.synthetic_seed,
        cache_dir=root,
    )
