"""A folder of real JPEG files in CUB-200-2011's layout, drawn by the synthetic generator.

``mlrc profile train`` times the data loader on it: JPEG decoding and the protocol's train
augmentation, read through the same CUB reader as the real dataset. The tree is written once
into the cache (``$MLRC_CACHE_DIR`` or ``~/.cache/mlrc``) and reused::

    cub-jpeg-c<classes>-n<images>-s<size>-seed<seed>-v<version>/
        manifest.json
        CUB_200_2011/
            images.txt  image_class_labels.txt  classes.txt
            images/001.Circle_Red_Solid/Circle_Red_Solid_0001.jpg ...

Each image is a ``size`` x ``size`` picture of the synthetic dataset (class = shape, colour
and pattern), stored as a baseline JPEG of quality 90 like CUB's photographs.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np
from PIL import Image

from benchmark.data.synthetic import class_attributes, default_cache_dir, render_image
from benchmark.errors import ConfigError, DatasetLayoutError

TREE_VERSION = 1
JPEG_QUALITY = 90
DEFAULT_IMAGE_SIZE = 256
MANIFEST = "manifest.json"
CUB_DIRNAME = "CUB_200_2011"


def ensure_cub_jpeg_tree(
    classes: int,
    images_per_class: int,
    image_size: int = DEFAULT_IMAGE_SIZE,
    seed: int = 0,
    cache_dir: str | Path | None = None,
) -> Path:
    """The ``CUB_200_2011`` folder of the tree, written on first use and reused afterwards.

    Args:
        classes: class folders (at least 2).
        images_per_class: JPEG files per class.
        image_size: side of the square images in pixels.
        seed: the generator's seed (same arguments -> identical files).
        cache_dir: where the tree lives (default ``$MLRC_CACHE_DIR`` or ``~/.cache/mlrc``).
    """
    if classes < 2 or images_per_class < 1 or image_size < 8:
        raise ConfigError(
            f"a CUB-layout JPEG tree needs >= 2 classes, >= 1 image each and >= 8 px, got "
            f"{classes} classes x {images_per_class} images of {image_size} px"
        )
    params = {
        "version": TREE_VERSION,
        "classes": classes,
        "images_per_class": images_per_class,
        "image_size": image_size,
        "seed": seed,
    }
    cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    name = f"cub-jpeg-c{classes}-n{images_per_class}-s{image_size}-seed{seed}-v{TREE_VERSION}"
    target = cache_dir / name
    if not _manifest_matches(target, params):
        _write_atomically(target, params)
    return target / CUB_DIRNAME


def write_cub_jpeg_tree(
    directory: Path, classes: int, images_per_class: int, image_size: int, seed: int
) -> None:
    """Write ``directory/CUB_200_2011`` with its three index files and JPEG class folders."""
    root = directory / CUB_DIRNAME
    image_lines, label_lines, class_lines = [], [], []
    for class_id, attributes in enumerate(class_attributes(classes, seed), start=1):
        class_name = "_".join(word.capitalize() for word in attributes)
        folder = f"{class_id:03d}.{class_name}"
        (root / "images" / folder).mkdir(parents=True)
        class_lines.append(f"{class_id} {folder}")
        for j in range(images_per_class):
            rng = np.random.default_rng([seed, class_id - 1, j])
            pixels = render_image(rng, *attributes, image_size)
            relative = f"{folder}/{class_name}_{j + 1:04d}.jpg"
            Image.fromarray(pixels).save(root / "images" / relative, quality=JPEG_QUALITY)
            image_id = len(image_lines) + 1
            image_lines.append(f"{image_id} {relative}")
            label_lines.append(f"{image_id} {class_id}")
    for file_name, lines in (
        ("images.txt", image_lines),
        ("image_class_labels.txt", label_lines),
        ("classes.txt", class_lines),
    ):
        (root / file_name).write_text("\n".join(lines) + "\n")


def _write_atomically(target: Path, params: dict) -> None:
    """Write into a temporary sibling renamed into place: a killed run leaves no half tree."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetLayoutError(
            f"cannot create the cache directory '{target.parent}' ({exc.strerror}); "
            "set MLRC_CACHE_DIR to a writable directory"
        ) from None
    temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        temporary.mkdir()
        write_cub_jpeg_tree(
            temporary,
            params["classes"],
            params["images_per_class"],
            params["image_size"],
            params["seed"],
        )
        (temporary / MANIFEST).write_text(json.dumps(params, indent=1) + "\n")
        if target.exists():  # a tree without a matching manifest is not ours to trust
            shutil.rmtree(target)
        try:
            temporary.rename(target)
        except OSError:
            if not _manifest_matches(target, params):
                raise
            # another process wrote the same tree first; its files are identical
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _manifest_matches(directory: Path, params: dict) -> bool:
    try:
        return json.loads((directory / MANIFEST).read_text()) == params
    except (OSError, ValueError):
        return False
