"""Helpers shared by the dataset readers: finding the dataset directory, reading index files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from benchmark.errors import DatasetLayoutError

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
)


def is_junk_name(name: str) -> bool:
    """Hidden files and macOS resource forks (``._name.jpg``), which are not images."""
    return name.startswith(".")


def is_image_name(name: str) -> bool:
    return not is_junk_name(name) and Path(name).suffix.lower() in IMAGE_EXTENSIONS


def find_dataset_dir(
    root: Path, marker: str, subdirs: tuple[str, ...], dataset: str, layout: str
) -> Path:
    """The directory holding ``marker``: ``root`` itself or one of its usual ``subdirs``.

    Users may pass either the dataset directory or its parent. When no candidate holds the
    marker, ``root`` is returned and the caller's :func:`require_files` names what is missing.
    """
    require_root_dir(root, dataset, layout)
    for candidate in (root, *(root / sub for sub in subdirs)):
        if (candidate / marker).exists():
            return candidate
    return root


def require_root_dir(root: Path, dataset: str, layout: str) -> None:
    """Raise a DatasetLayoutError naming ``root`` and the expected layout unless it is a folder."""
    if not root.exists():
        raise DatasetLayoutError(
            f"{dataset} root '{root}' does not exist; pass --root (or set data.root) to the "
            f"directory holding {layout}"
        )
    if not root.is_dir():
        raise DatasetLayoutError(f"{dataset} root '{root}' is not a directory; expected {layout}")


def require_files(directory: Path, names: list[str], dataset: str, layout: str) -> None:
    """Raise one DatasetLayoutError naming every missing file among ``names``."""
    missing = [str(directory / name) for name in names if not (directory / name).is_file()]
    if missing:
        what = "index file" if len(missing) == 1 else "index files"
        raise DatasetLayoutError(
            f"{dataset}: missing {what} {', '.join(missing)}; expected layout: {layout}"
        )


def read_rows(path: Path, columns: int, skip: int = 0) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line_number, fields)`` of a whitespace-separated text file, skipping blanks.

    Rows with fewer than ``columns`` fields raise a DatasetLayoutError naming file and line.
    Bytes that are not UTF-8 (a file name in another encoding) are kept as the surrogate
    escapes Python uses for such file names, so that the path finds the file on disk.
    """
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise DatasetLayoutError(f"cannot read '{path}': {exc.strerror or exc}") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if number <= skip or not line.strip():
            continue
        fields = line.split()
        if len(fields) < columns:
            raise DatasetLayoutError(
                f"{path}, line {number}: expected {columns} fields, got {line.strip()!r}"
            )
        yield number, fields


def parse_int(value: str, path: Path, line: int, what: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise DatasetLayoutError(
            f"{path}, line {line}: {what} must be an integer, got {value!r}"
        ) from None
