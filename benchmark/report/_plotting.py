"""Headless matplotlib set up once for every figure, and byte-stable PNG writing."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are files: no display, also on a cluster node

import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib.figure import Figure  # noqa: E402

DPI = 120


def new_figure(width: float = 6.4, height: float = 4.2, ncols: int = 1, nrows: int = 1):
    """A figure and its axes (an array when there are several)."""
    figure, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=nrows * ncols == 1)
    return figure, axes


def save_png(figure: Figure, path: Path) -> Path:
    """Write ``figure`` as PNG without a software-version stamp, and close it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=DPI, metadata={"Software": None})
    plt.close(figure)
    return path
