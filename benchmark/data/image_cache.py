"""A persistent cache of decoded images after a pipeline's deterministic first steps.

Decoding a CUB photograph and resizing it to 256 px costs several times more CPU than the
random crop and flip that follow, and every fold of every trial repeats it for the same few
thousand images. The cache computes the deterministic first steps of a
:class:`~benchmark.data.transforms.StagedTransform` (MLRC: ``Resize(256)`` for training,
``Resize(256)`` + ``CenterCrop(227)`` for evaluation; the synthetic data: the decoded image)
once per dataset and stores their output as uint8 pixels in one file that every process maps
into memory: all workers, trials and processes of a node share it through the page cache.
Reading an image back and applying the rest of the pipeline gives exactly the tensors the
pipeline gives on the original file, because the stored bytes are what the same transforms
produced.

Layout, in ``<cache>/images-<dataset>-<digest>/`` (``<cache>`` is ``data.cache_dir``, else
``$MLRC_CACHE_DIR`` or ``~/.cache/mlrc``)::

    manifest.json   the key (dataset, first steps, library versions, digest of the files'
                    paths, sizes and modification times), the image count and the byte count
    pixels.u8       every image's height x width x 3 uint8 pixels, one after another
    index.npy       int64 [count, 3]: the byte offset, height and width of each image
    paths.json      the absolute image paths, in the order of index.npy

A cache is built in a temporary folder renamed into place at the end
(:func:`~benchmark.data.cache_folder.ensure_cached_folder`): two processes building it at once
both finish, one of the identical folders wins. A cache whose key differs (a file changed, other
transform parameters, other library versions) or whose files are incomplete is rebuilt, never read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import PIL
import torchvision
from PIL import Image

from benchmark.data.cache_folder import MANIFEST, ensure_cached_folder
from benchmark.data.image_set import load_image
from benchmark.data.transforms import apply_first_step, first_step_names
from benchmark.data.worker_processes import ordered_map
from benchmark.progress import Progress

_logger = logging.getLogger(__name__)

CACHE_FORMAT = 1
PIXELS = "pixels.u8"
INDEX = "index.npy"
PATHS = "paths.json"
# The builder touches its temporary folder this often, so that no other process takes it for
# the leftover of a killed build (see cache_folder.STALE_TEMPORARY_S).
_TOUCH_EVERY_IMAGES = 500
_STAT_THREADS = 16


def image_cache_key(
    dataset: str, paths: Sequence[str | Path], transform: Callable | None
) -> dict[str, Any]:
    """What a cache of ``paths`` through ``transform``'s first steps is made from: the dataset,
    the steps with their parameters, the versions of the libraries that compute them, and a
    digest of every file's absolute path, size and modification time."""
    absolute = [os.path.abspath(path) for path in paths]
    with ThreadPoolExecutor(_STAT_THREADS) as pool:  # stat() is slow on network filesystems
        stats = list(pool.map(_size_and_mtime, absolute))
    files = hashlib.sha256()
    for path, (size, mtime_ns) in zip(absolute, stats, strict=True):
        files.update(os.fsencode(f"{path}\0{size}\0{mtime_ns}\n"))  # any file name's bytes
    return {
        "format": CACHE_FORMAT,
        "dataset": dataset,
        "first_steps": first_step_names(transform),
        "pillow": PIL.__version__,
        "torchvision": torchvision.__version__,
        "count": len(absolute),
        "files_sha256": files.hexdigest(),
    }


def _size_and_mtime(path: str) -> tuple[int, int]:
    try:
        stat = os.stat(path)
    except OSError:
        return -1, -1  # a missing file fails when the build decodes it, with its name
    return stat.st_size, stat.st_mtime_ns


class ImageCache:
    """A built cache: the stored pixels of each image, mapped read-only into memory.

    ``image(row)`` is the PIL image the pipeline's first steps made of ``paths[row]``;
    :meth:`rows_of` finds the rows of image paths. The memory map is opened on first use in each
    process, so the object pickles small (DataLoader workers, spawn).
    """

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        manifest = json.loads((self.directory / MANIFEST).read_text())
        self.first_steps: list[str] = manifest["first_steps"]
        self.size_bytes: int = manifest["pixel_bytes"]
        self.index = np.load(self.directory / INDEX)
        self.paths: list[str] = json.loads((self.directory / PATHS).read_text())
        self._rows: dict[str, int] | None = None
        self._pixels: np.memmap | None = None

    def __len__(self) -> int:
        return len(self.paths)

    def rows_of(self, paths: Sequence[str | Path]) -> np.ndarray:
        """The rows of ``paths``; a path the cache does not hold raises KeyError naming it."""
        if self._rows is None:
            self._rows = {path: row for row, path in enumerate(self.paths)}
        rows = np.empty(len(paths), dtype=np.int64)
        for i, path in enumerate(paths):
            absolute = os.path.abspath(path)
            if absolute not in self._rows:
                raise KeyError(f"{absolute} is not in the image cache {self.directory}")
            rows[i] = self._rows[absolute]
        return rows

    def pixels(self, row: int) -> np.ndarray:
        """The stored ``height x width x 3`` uint8 pixels of image ``row`` (read-only view)."""
        if self._pixels is None:
            self._pixels = np.memmap(self.directory / PIXELS, dtype=np.uint8, mode="r")
        offset, height, width = (int(value) for value in self.index[row])
        return self._pixels[offset : offset + height * width * 3].reshape(height, width, 3)

    def image(self, row: int) -> Image.Image:
        """Image ``row`` as the pipeline's first steps left it (an RGB PIL image)."""
        return Image.fromarray(self.pixels(row))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_pixels"] = None  # each process maps the file itself
        return state

    def __repr__(self) -> str:
        return f"ImageCache({self.directory}, images={len(self)}, bytes={self.size_bytes})"


def ensure_image_cache(
    dataset: str,
    paths: Sequence[str | Path],
    transform: Callable | None,
    cache_dir: str | Path | None = None,
    workers: int = 0,
    progress: bool = True,
) -> ImageCache:
    """The cache of ``paths`` through ``transform``'s deterministic first steps, built on first
    use (with ``workers`` decoding processes; 0 decodes here) and reused while valid."""
    key = image_cache_key(dataset, paths, transform)
    name_digest = hashlib.sha256(
        json.dumps([dataset, key["first_steps"], sorted(map(os.path.abspath, paths))]).encode()
    ).hexdigest()[:16]
    name = f"images-{dataset}-{name_digest}"

    def write(directory: Path) -> dict[str, Any]:
        steps = " -> ".join(key["first_steps"]) or "decode"
        _logger.info("building the image cache of %s (%s): %d images", dataset, steps, len(paths))
        return write_image_cache(directory, paths, transform, workers, progress, dataset)

    directory = ensure_cached_folder(cache_dir, name, key, write, check=cache_is_complete)
    return ImageCache(directory)


def write_image_cache(
    directory: Path,
    paths: Sequence[str | Path],
    transform: Callable | None,
    workers: int = 0,
    progress: bool = True,
    label: str = "",
) -> dict[str, Any]:
    """Decode ``paths``, apply ``transform``'s first steps, and append each image's pixels to
    ``directory/pixels.u8`` in order; returns the manifest entries of the content."""
    absolute = [os.path.abspath(path) for path in paths]
    index = np.zeros((len(absolute), 3), dtype=np.int64)
    offset = 0
    bar = Progress(
        f"image cache {label}".strip(),
        len(absolute),
        logger=_logger,
        unit="image",
        bars=progress,
        log_every=max(1, len(absolute) // 10),
    )
    pixel_source = contextlib.closing(_first_step_pixels_of(absolute, transform, workers))
    with open(directory / PIXELS, "wb") as pixels_file, pixel_source as source:
        for row, pixels in enumerate(source):
            height, width, _ = pixels.shape
            index[row] = (offset, height, width)
            pixels_file.write(pixels.tobytes())
            offset += pixels.nbytes
            bar.update()
            if row % _TOUCH_EVERY_IMAGES == 0:
                os.utime(directory)
        pixels_file.flush()
        os.fsync(pixels_file.fileno())
    bar.close()
    np.save(directory / INDEX, index)
    (directory / PATHS).write_text(json.dumps(absolute))
    return {"pixel_bytes": offset}


def _first_step_pixels_of(
    paths: Sequence[str], transform: Callable | None, workers: int
) -> Generator[np.ndarray, None, None]:
    """Each path's first-step pixels in order, computed here or by ``workers`` processes
    (which a stop signal ends cleanly, see :mod:`benchmark.data.worker_processes`)."""
    if workers <= 0:
        yield from (first_step_pixels(transform, path) for path in paths)
        return
    yield from ordered_map(_worker_pixels, paths, workers, _set_worker_transform, (transform,))


def first_step_pixels(transform: Callable | None, path: str | Path) -> np.ndarray:
    """The uint8 ``height x width x 3`` pixels of ``path`` after ``transform``'s first steps."""
    image = apply_first_step(transform, load_image(path))
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


_worker_transform: Callable | None = None


def _set_worker_transform(transform: Callable | None) -> None:
    global _worker_transform
    _worker_transform = transform


def _worker_pixels(path: str) -> np.ndarray:
    return first_step_pixels(_worker_transform, path)


def cache_is_complete(directory: Path) -> bool:
    """Whether every file of the cache in ``directory`` is there and whole: a truncated pixel
    file, a short index or a missing file makes the cache invalid."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
        count, pixel_bytes = int(manifest["count"]), int(manifest["pixel_bytes"])
        if (directory / PIXELS).stat().st_size != pixel_bytes:
            return False
        index = np.load(directory / INDEX)
        paths = json.loads((directory / PATHS).read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if index.shape != (count, 3) or len(paths) != count:
        return False
    if count == 0:
        return pixel_bytes == 0
    sizes = index[:, 1] * index[:, 2] * 3
    return bool(
        index[0, 0] == 0
        and np.all(index[1:, 0] == index[:-1, 0] + sizes[:-1])
        and index[-1, 0] + sizes[-1] == pixel_bytes
    )
