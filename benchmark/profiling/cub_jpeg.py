"""A folder of real JPEG files in CUB-200-2011's layout, drawn by the synthetic generator.

``mlrc profile train`` times the data loader on it: JPEG decoding and the protocol's train
augmentation, read through the same CUB reader as the real dataset. The tree is written once
into the cache (``$MLRC_CACHE_DIR`` or ``~/.cache/mlrc``) and reused::

    cub-jpeg-c<classes>-n<images>-s<width>[x<height>][-q<quality>]-seed<seed>-v<version>/
        manifest.json
        CUB_200_2011/
            images.txt  image_class_labels.txt  classes.txt
            images/001.Circle_Red_Solid/Circle_Red_Solid_0001.jpg ...

Each image is a picture of the synthetic dataset (class = shape, colour and pattern), drawn
at the larger side and cropped to ``width`` x ``height`` (CUB's photographs are about 500 x 375),
stored as a baseline JPEG of quality 90 like CUB's.
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
CUB_LIKE_SIZE = (500, 375)
"""Width and height of a typical CUB-200-2011 photograph."""
CUB_DIRNAME = "CUB_200_2011"


def ensure_cub_jpeg_tree(
    classes: int,
    images_per_class: int,
    image_size: int = DEFAULT_IMAGE_SIZE,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    image_height: int | None = None,
    quality: int = JPEG_QUALITY,
) -> Path:
    """The ``CUB_200_2011`` folder of the tree, written on first use and reused afterwards.

    Args:
        classes: class folders (at least 2).
        images_per_class: JPEG files per class.
        image_size: width of the images in pixels (and height, unless ``image_height``).
        seed: the generator's seed (same arguments -> identical files).
        cache_dir: where the tree lives (default ``$MLRC_CACHE_DIR`` or ``~/.cache/mlrc``).
        image_height: height of the images (default: square).
        quality: JPEG quality (1-95).
    """
    height = image_size if image_height is None else image_height
    if classes < 2 or images_per_class < 1 or min(image_size, height) < 8:
        raise ConfigError(
            f"a CUB-layout JPEG tree needs >= 2 classes, >= 1 image each and >= 8 px, got "
            f"{classes} classes x {images_per_class} images of {image_size}x{height} px"
        )
    if not 1 <= quality <= 95:
        raise ConfigError(f"JPEG quality must lie in 1..95, got {quality}")
    params = {
        "version": TREE_VERSION,
        "classes": classes,
        "images_per_class": images_per_class,
        "image_size": image_size,
        "seed": seed,
    }
    size = f"{image_size}"
    if height != image_size:
        params["image_height"] = height
        size += f"x{height}"
    if quality != JPEG_QUALITY:
        params["quality"] = quality
        size += f"-q{quality}"
    name = f"cub-jpeg-c{classes}-n{images_per_class}-s{size}-seed{seed}-v{TREE_VERSION}"

    def write(directory: Path) -> None:
        write_cub_jpeg_tree(directory, classes, images_per_class, image_size, seed, height, quality)

    return ensure_cached_folder(cache_dir, name, params, write) / CUB_DIRNAME


def write_cub_jpeg_tree(
    directory: Path,
    classes: int,
    images_per_class: int,
    image_size: int,
    seed: int,
    image_height: int | None = None,
    quality: int = JPEG_QUALITY,
) -> None:
    """Write ``directory/CUB_200_2011`` with its three index files and JPEG class folders."""
    width, height = image_size, image_size if image_height is None else image_height
    root = directory / CUB_DIRNAME
    image_lines: list[str] = []
    label_lines: list[str] = []
    class_lines: list[str] = []
    for class_id, attributes in enumerate(class_attributes(classes, seed), start=1):
        class_name = "_".join(word.capitalize() for word in attributes)
        folder = f"{class_id:03d}.{class_name}"
        (root / "images" / folder).mkdir(parents=True)
        class_lines.append(f"{class_id} {folder}")
        for j in range(images_per_class):
            rng = np.random.default_rng([seed, class_id - 1, j])
            pixels = _centre_crop(render_image(rng, *attributes, max(width, height)), width, height)
            relative = f"{folder}/{class_name}_{j + 1:04d}.jpg"
            Image.fromarray(pixels).save(root / "images" / relative, quality=quality)
            image_id = len(image_lines) + 1
            image_lines.append(f"{image_id} {relative}")
            label_lines.append(f"{image_id} {class_id}")
    for file_name, lines in (
        ("images.txt", image_lines),
        ("image_class_labels.txt", label_lines),
        ("classes.txt", class_lines),
    ):
        (root / file_name).write_text("\n".join(lines) + "\n")


def _centre_crop(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    top, left = (pixels.shape[0] - height) // 2, (pixels.shape[1] - width) // 2
    return np.ascontiguousarray(pixels[top : top + height, left : left + width])
