"""The embedded synthetic dataset: small generated images for CPU demos and tests.

Each class is one combination of three visual attributes, a shape (circle, square, triangle,
...), a colour (red, green, blue, ...) and a surface pattern (solid, stripes, checker, ...).
Every image draws its own pose, scale, position, aspect, colour jitter, pattern phase,
background (tint, gradient, clutter blobs and lines, some occluding the object) and pixel noise,
so classes are not separable by a fixed template but an embedding that learns the three
attributes transfers to unseen combinations.

Class ids are assigned so that the MLRC split (first half of the classes for train+val, second
half for test) holds out *combinations*, not attributes: a combination (shape, colour, pattern)
with an even index sum goes to the first half, an odd one to the second. For the default 100
classes (5 shapes x 5 colours x 4 patterns) both halves contain every shape, colour and pattern,
and even every pair of them, while each test triple is new. Within each half the order is
shuffled by the seed, so the MLRC validation folds also mix attributes.

The dataset is generated deterministically from ``seed`` (same parameters -> identical PNG bytes)
into ``<cache>/synthetic-c<classes>-n<images>-s<size>-seed<seed>-v<version>/<class>/<i>.png``,
where ``<cache>`` is ``$MLRC_CACHE_DIR`` or ``~/.cache/mlrc``. Generation writes into a temporary
folder that is renamed into place at the end (a killed generation leaves no half cache), and a
``manifest.json`` records the parameters so later calls reuse the folder. It is read back with
the same folder-per-class reader as user data.
"""

from __future__ import annotations

import functools
import itertools
import logging
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmark.config import DataConfig
from benchmark.data.cache_folder import MANIFEST, ensure_cached_folder
from benchmark.data.folder import read_folder
from benchmark.data.index import DatasetIndex
from benchmark.data.registry import register_dataset
from benchmark.errors import ConfigError
from benchmark.progress import tracked

_logger = logging.getLogger(__name__)

GENERATOR_VERSION = 1
SYNTHETIC_LAYOUT = "generated into $MLRC_CACHE_DIR (default ~/.cache/mlrc); --root sets that folder"

SHAPES = ("circle", "square", "triangle", "cross", "ring", "star", "semicircle", "ellipse")
COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 175, 60),
    "blue": (50, 90, 235),
    "yellow": (235, 210, 40),
    "magenta": (205, 50, 205),
    "cyan": (40, 205, 215),
    "orange": (245, 135, 30),
    "white": (235, 235, 235),
}
PATTERNS = ("solid", "stripes", "checker", "dots", "outline", "grid")

# Attribute grids (shapes, colours, patterns) by size; the smallest one that holds the requested
# number of classes is used. The pattern count stays even so that both parity halves are equal.
_GRIDS = (
    (2, 2, 2), (3, 2, 2), (3, 3, 2), (3, 3, 4), (4, 3, 4), (4, 4, 4), (5, 4, 4), (5, 5, 4),
    (6, 5, 4), (6, 6, 4), (6, 6, 6), (7, 6, 6), (7, 7, 6), (8, 7, 6), (8, 8, 6),
)  # fmt: skip
MAX_CLASSES = 8 * 8 * 6
_SUPERSAMPLE = 2


def synthetic_dirname(classes: int, images_per_class: int, image_size: int, seed: int) -> str:
    return f"synthetic-c{classes}-n{images_per_class}-s{image_size}-seed{seed}-v{GENERATOR_VERSION}"


def class_attributes(num_classes: int, seed: int = 0) -> list[tuple[str, str, str]]:
    """The (shape, colour, pattern) of each class, in class order.

    The first ``num_classes // 2`` classes (train+val under the MLRC split) are combinations with
    an even index sum, the others odd ones: no combination is shared between the halves.
    """
    _check_params(num_classes, 1, 8)
    grid = next(g for g in _GRIDS if g[0] * g[1] * g[2] >= num_classes)
    combos = list(itertools.product(*(range(n) for n in grid)))
    even = [c for c in combos if sum(c) % 2 == 0]
    odd = [c for c in combos if sum(c) % 2 == 1]
    rng = np.random.default_rng([seed, 0x5EED])
    n_first = num_classes // 2
    first = [even[i] for i in rng.permutation(len(even))[:n_first]]
    second = [odd[i] for i in rng.permutation(len(odd))[: num_classes - n_first]]
    colours = list(COLOURS)
    return [(SHAPES[s], colours[c], PATTERNS[p]) for s, c, p in first + second]


@register_dataset("synthetic", display="Synthetic", layout=SYNTHETIC_LAYOUT, needs_root=False)
def read_synthetic(root: Path | None, config: DataConfig) -> DatasetIndex:
    """The dataset of ``config.synthetic_*``, generated into the cache folder ``root`` (None:
    the default cache); a ``root`` holding a generated dataset's manifest is read as it is."""
    if root is not None and (root / MANIFEST).is_file():
        return read_folder(root, name="synthetic")
    return load_synthetic(
        classes=config.synthetic_classes,
        images_per_class=config.synthetic_images_per_class,
        image_size=config.synthetic_image_size,
        seed=config.synthetic_seed,
        cache_dir=root,
    )


def load_synthetic(
    classes: int = 100,
    images_per_class: int = 30,
    image_size: int = 32,
    seed: int = 0,
    cache_dir: str | Path | None = None,
) -> DatasetIndex:
    """Generate the dataset into the cache (once) and index it with the folder reader."""
    directory = ensure_synthetic_dataset(classes, images_per_class, image_size, seed, cache_dir)
    return read_folder(directory, name="synthetic")


def ensure_synthetic_dataset(
    classes: int = 100,
    images_per_class: int = 30,
    image_size: int = 32,
    seed: int = 0,
    cache_dir: str | Path | None = None,
) -> Path:
    """The dataset's folder, generated atomically on first use and reused afterwards."""
    _check_params(classes, images_per_class, image_size)
    name = synthetic_dirname(classes, images_per_class, image_size, seed)
    params = {
        "generator_version": GENERATOR_VERSION,
        "classes": classes,
        "images_per_class": images_per_class,
        "image_size": image_size,
        "seed": seed,
    }
    return ensure_cached_folder(cache_dir, name, params, lambda folder: _generate(folder, params))


def render_image(
    rng: np.random.Generator, shape: str, colour: str, pattern: str, size: int
) -> np.ndarray:
    """One ``size`` x ``size`` RGB uint8 image of an object with the given attributes."""
    ys, xs = _pixel_grid(size * _SUPERSAMPLE)

    # Background: tinted grey, a linear gradient, and clutter (blobs and lines).
    grey = rng.uniform(35, 200)
    base = (grey + rng.normal(0.0, 18.0, 3)).astype(np.float32)
    gx, gy = rng.normal(0.0, 45.0, 2)
    gradient = (gx * (xs - 0.5) + gy * (ys - 0.5)).astype(np.float32)
    canvas = base[None, None, :] + gradient[..., None]
    for _ in range(rng.integers(2, 6)):
        _paint_clutter(rng, canvas, xs, ys)

    # The object: pose, scale, position and aspect drawn per image.
    cx, cy = 0.5 + rng.uniform(-0.16, 0.16, 2)
    radius = rng.uniform(0.22, 0.36)
    angle = rng.uniform(0.0, 2.0 * np.pi)
    cos, sin = np.cos(angle), np.sin(angle)
    dx, dy = (xs - cx) / radius, (ys - cy) / radius
    u = (dx * cos + dy * sin) * rng.uniform(0.85, 1.15)
    v = -dx * sin + dy * cos
    mask = _shape_mask(shape, u, v)
    main = np.array(COLOURS[colour], dtype=np.float32) * rng.uniform(0.75, 1.1)
    main = (main + rng.normal(0.0, 10.0, 3)).astype(np.float32)
    dark = (main * rng.uniform(0.2, 0.4)).astype(np.float32)
    lit = _pattern_mask(pattern, shape, u, v, rng)
    fill = np.where(lit[..., None], main, dark)
    canvas = np.where(mask[..., None], fill, canvas)

    for _ in range(rng.integers(0, 2)):  # sometimes something occludes the object
        _paint_clutter(rng, canvas, xs, ys, small=True)

    image = canvas.reshape(size, _SUPERSAMPLE, size, _SUPERSAMPLE, 3).mean(axis=(1, 3))
    image += rng.normal(0.0, rng.uniform(3.0, 12.0), image.shape).astype(np.float32)
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


@functools.lru_cache(maxsize=4)
def _pixel_grid(n: int) -> np.ndarray:
    """Pixel-centre coordinates (y, x) in image units [0, 1) of an n x n canvas (read-only)."""
    grid = (np.mgrid[0:n, 0:n].astype(np.float32) + 0.5) / n
    grid.flags.writeable = False
    return grid


def _shape_mask(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    rho = np.hypot(u, v)
    if shape == "circle":
        return rho <= 0.9
    if shape == "square":
        return np.maximum(np.abs(u), np.abs(v)) <= 0.78
    if shape == "triangle":
        mask = np.ones_like(u, dtype=bool)
        for k in range(3):
            phi = np.pi / 2 + 2 * np.pi * k / 3
            mask &= u * np.cos(phi) + v * np.sin(phi) <= 0.5
        return mask
    if shape == "cross":
        return ((np.abs(u) <= 0.3) & (np.abs(v) <= 0.95)) | (
            (np.abs(v) <= 0.3) & (np.abs(u) <= 0.95)
        )
    if shape == "ring":
        return (rho <= 1.0) & (rho >= 0.55)
    if shape == "star":
        return rho <= 0.62 + 0.38 * np.cos(5 * np.arctan2(v, u))
    if shape == "semicircle":
        w = v + 0.4
        return (np.hypot(u, w) <= 1.0) & (w >= 0)
    if shape == "ellipse":
        return (u / 1.0) ** 2 + (v / 0.45) ** 2 <= 1.0
    raise ValueError(f"unknown shape {shape!r}")


def _pattern_mask(
    pattern: str, shape: str, u: np.ndarray, v: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Where the object shows its main colour (elsewhere: a dark shade of it)."""
    period = rng.uniform(0.5, 0.7)
    pu, pv = u / period + rng.uniform(0, 1), v / period + rng.uniform(0, 1)
    if pattern == "solid":
        return np.ones_like(u, dtype=bool)
    if pattern == "stripes":
        return np.sin(2 * np.pi * pu) > 0
    if pattern == "checker":
        return (np.floor(pu) + np.floor(pv)) % 2 == 0
    if pattern == "dots":
        return np.hypot(pu % 1 - 0.5, pv % 1 - 0.5) > 0.3
    if pattern == "outline":
        return ~_shape_mask(shape, u / 0.6, v / 0.6)
    if pattern == "grid":
        return (np.abs(pu % 1 - 0.5) < 0.36) & (np.abs(pv % 1 - 0.5) < 0.36)
    raise ValueError(f"unknown pattern {pattern!r}")


def _paint_clutter(
    rng: np.random.Generator,
    canvas: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    small: bool = False,
) -> None:
    colour = (rng.uniform(0, 255, 3) * rng.uniform(0.5, 1.0)).astype(np.float32)
    x0, y0 = rng.uniform(0, 1, 2)
    n = canvas.shape[0]
    if rng.random() < 0.5:  # a blob
        r = rng.uniform(0.03, 0.06 if small else 0.09)
        rows, cols = _window(n, y0 - r, y0 + r), _window(n, x0 - r, x0 + r)
        wx, wy = xs[rows, cols], ys[rows, cols]
        mask = (wx - x0) ** 2 + (wy - y0) ** 2 <= r * r
    else:  # a line segment
        length = rng.uniform(0.1, 0.25 if small else 0.5)
        theta = rng.uniform(0, np.pi)
        ex, ey = np.cos(theta) * length, np.sin(theta) * length
        width = rng.uniform(0.01, 0.025)
        rows = _window(n, min(y0, y0 + ey) - width, max(y0, y0 + ey) + width)
        cols = _window(n, min(x0, x0 + ex) - width, max(x0, x0 + ex) + width)
        wx, wy = xs[rows, cols], ys[rows, cols]
        t = np.clip(((wx - x0) * ex + (wy - y0) * ey) / (length * length), 0.0, 1.0)
        mask = np.hypot(wx - x0 - t * ex, wy - y0 - t * ey) <= width
    canvas[rows, cols][mask] = colour


def _window(n: int, low: float, high: float) -> slice:
    """Pixel rows (or columns) of an n-pixel axis covering [low, high] in image units."""
    return slice(max(0, int(np.floor(low * n))), min(n, int(np.ceil(high * n)) + 1))


def _generate(directory: Path, params: dict) -> dict:
    """Fill ``directory`` with the class folders; return the manifest's entries beyond params."""
    classes, per_class = params["classes"], params["images_per_class"]
    size, seed = params["image_size"], params["seed"]
    attributes = class_attributes(classes, seed)
    width = max(3, len(str(classes - 1)))
    digits = max(2, len(str(per_class - 1)))
    names = []
    for k, (shape, colour, pattern) in enumerate(
        tracked(
            attributes,
            "generating synthetic dataset",
            logger=_logger,
            unit="class",
            log_every=max(1, classes // 10),
        )
    ):
        name = f"{k:0{width}d}_{shape}_{colour}_{pattern}"
        names.append(name)
        folder = directory / name
        folder.mkdir()
        for j in range(per_class):
            rng = np.random.default_rng([seed, k, j])
            pixels = render_image(rng, shape, colour, pattern, size)
            Image.fromarray(pixels).save(folder / f"{j:0{digits}d}.png", compress_level=1)
    return {
        "num_images": classes * per_class,
        "class_names": names,
        "class_attributes": [list(a) for a in attributes],
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _check_params(classes: int, images_per_class: int, image_size: int) -> None:
    if not 2 <= classes <= MAX_CLASSES:
        raise ConfigError(f"data.synthetic_classes must lie in 2..{MAX_CLASSES}, got {classes}")
    if images_per_class < 1:
        raise ConfigError(f"data.synthetic_images_per_class must be >= 1, got {images_per_class}")
    if image_size < 8:
        raise ConfigError(f"data.synthetic_image_size must be >= 8, got {image_size}")
