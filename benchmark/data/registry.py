"""The dataset registry: one registration per dataset layout, and :func:`load_dataset`.

A registration ties a name (``--dataset``) to the reader that indexes the dataset's files, the
label tables and figures show, the one-line layout that error messages and ``mlrc data list``
print, and the official train/test split that the traditional protocol trains and tests on.
The built-in layouts register themselves in their own modules (``cub.py``, ``sop.py``, ...);
users register theirs in a plugin (``mlrc --plugin my_dataset.py ...``)::

    @register_dataset("csv_images", display="CSV images", layout="<root>/labels.csv")
    def read_csv_images(root: Path) -> DatasetIndex: ...
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmark.config import DataConfig
from benchmark.data._layout import require_root_dir
from benchmark.data.dataset_splits import TraditionalSplit, class_halves_split
from benchmark.data.index import DatasetIndex
from benchmark.errors import DatasetLayoutError, UnknownDatasetError

DatasetReader = Callable[..., DatasetIndex]
OfficialSplit = Callable[[DatasetIndex], TraditionalSplit]


@dataclass(frozen=True)
class DatasetSpec:
    """Everything the benchmark knows about one registered dataset layout."""

    name: str
    display: str
    layout: str
    reader: DatasetReader
    official_split: OfficialSplit = class_halves_split
    needs_root: bool = True

    @property
    def reader_takes_config(self) -> bool:
        """The reader has a ``config`` parameter (it then receives the protocol's DataConfig)."""
        return "config" in inspect.signature(self.reader).parameters


_REGISTRY: dict[str, DatasetSpec] = {}


def register_dataset(
    name: str,
    *,
    display: str,
    layout: str,
    official_split: OfficialSplit = class_halves_split,
    needs_root: bool = True,
    replace: bool = False,
) -> Callable[[DatasetReader], DatasetReader]:
    """Register ``reader(root: Path) -> DatasetIndex`` as the dataset ``name``.

    The reader indexes the images under ``root`` without opening them and raises
    :class:`~benchmark.errors.DatasetLayoutError` (naming the file and the expected layout) for
    anything missing or malformed. A reader with a ``config`` parameter also receives the
    protocol's :class:`~benchmark.config.DataConfig`.

    Args:
        name: the name of ``--dataset`` and of result rows, lower case (``cub``).
        display: the label of tables and figures (``CUB``).
        layout: one line saying what ``--root`` must hold, for error messages and
            ``mlrc data list``.
        official_split: the dataset's own train/test split, used by the traditional protocol
            (``data.split: traditional``); default: the first half of the classes trains, the
            second half tests, as CUB's and Cars196's official splits do.
        needs_root: False when the reader accepts ``root=None`` (the synthetic dataset, which is
            generated into a cache folder); else a missing root stops with one clear error.
        replace: allow re-registering an existing name (for notebooks that reload a plugin).
    """
    if not name or name != name.strip().lower() or " " in name:
        raise ValueError(f"a dataset name is lower case without spaces, got {name!r}")

    def decorator(reader: DatasetReader) -> DatasetReader:
        if name in _REGISTRY and not replace and _REGISTRY[name].reader is not reader:
            raise ValueError(f"a dataset named '{name}' is already registered")
        _REGISTRY[name] = DatasetSpec(
            name=name,
            display=display,
            layout=layout,
            reader=reader,
            official_split=official_split,
            needs_root=needs_root,
        )
        return reader

    return decorator


def get_dataset_spec(name: str) -> DatasetSpec:
    """The registration of ``name`` (case-insensitive); an unknown name raises one clear error."""
    try:
        return _REGISTRY[name.strip().lower()]
    except KeyError:
        raise UnknownDatasetError(
            f"unknown dataset '{name}'; available datasets: {', '.join(_REGISTRY)} "
            "(register your own with --plugin my_dataset.py)"
        ) from None


def list_datasets() -> list[DatasetSpec]:
    """All registered datasets, in registration order."""
    return list(_REGISTRY.values())


def dataset_names() -> list[str]:
    """Every name :func:`load_dataset` accepts, in registration order."""
    return list(_REGISTRY)


def load_dataset(
    name: str, root: str | Path | None = None, config: DataConfig | None = None
) -> DatasetIndex:
    """Index the dataset ``name`` found under ``root`` (no image is opened).

    ``root`` defaults to ``config.root``, then to ``$MLRC_DATA/<name>``. For ``"synthetic"``
    the root is the cache folder the dataset is generated into (default ``$MLRC_CACHE_DIR`` or
    ``~/.cache/mlrc``; a folder holding a generated dataset's ``manifest.json`` is read as is),
    and its size comes from ``config.synthetic_*``. The index is named ``name``, whatever the
    reader called it, so that :func:`traditional_split` finds the registration.

    Raises :class:`UnknownDatasetError` for an unknown name and :class:`DatasetLayoutError`,
    naming the path and the expected layout, for a missing root, index file or wrong layout.
    """
    spec = get_dataset_spec(name)
    config = config or DataConfig()
    if root is None:
        root = config.root
    if root is None and spec.needs_root and os.environ.get("MLRC_DATA"):
        root = Path(os.environ["MLRC_DATA"]) / spec.name
    if root is None and spec.needs_root:
        raise DatasetLayoutError(
            f"no root given for dataset '{spec.name}': pass --root <dir> (or set data.root, or "
            f"MLRC_DATA=<dir holding {spec.name}/>) pointing to {spec.layout}"
        )
    path = None if root is None else Path(root).expanduser()
    if spec.needs_root and path is not None:  # None raised above
        require_root_dir(path, spec.name, spec.layout)
    options = {"config": config} if spec.reader_takes_config else {}
    index = spec.reader(path, **options)
    if not isinstance(index, DatasetIndex):
        raise TypeError(
            f"the reader of dataset '{spec.name}' returned {type(index).__name__}, "
            "not a DatasetIndex"
        )
    return index if index.name == spec.name else dataclasses.replace(index, name=spec.name)


def traditional_split(index: DatasetIndex) -> TraditionalSplit:
    """The official train/test split of ``index``'s dataset, which the traditional protocol uses.

    CUB classes 0-99 / 100-199 and Cars196 0-97 / 98-195 (first / second half of the classes),
    SOP Ebay_train / Ebay_test, In-Shop train / query -> gallery. Datasets registered without
    an official split (folder, synthetic), and indexes of no registered dataset, are split by
    class halves like CUB.
    """
    spec = _REGISTRY.get(index.name)
    official_split = class_halves_split if spec is None else spec.official_split
    return official_split(index)


@contextlib.contextmanager
def registry_restored() -> Iterator[None]:
    """Forget, on exit, every dataset registered or replaced inside the block (for tests)."""
    saved = dict(_REGISTRY)
    try:
        yield
    finally:
        _REGISTRY.clear()
        _REGISTRY.update(saved)
