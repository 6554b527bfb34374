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

from pathlib import Path

import numpy as np
from PIL import Image

from benchmark.data.cache_folder import ensure_cached_folder
from benchmark.data.synthetic import class_attributes, render_image
from benchmark.errors import ConfigError

TREE_VERSION = 1
JPEG_QUALITY = 90
DEFAULT_IMAGE_SIZE = 256
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
    name = f"cub-jpeg-c{classes}-n{images_per_class}-s{image_size}-seed{seed}-v{TREE_VERSION}"

    def write(directory: Path) -> None:
        write_cub_jpeg_tree(directory, classes, images_per_class, image_size, seed)

    return ensure_cached_folder(cache_dir, name, params, write) / CUB_DIRNAME


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
