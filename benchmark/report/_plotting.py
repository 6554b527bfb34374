"""Headless matplotlib set up once for every figure, and byte-stable PNG writing."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # figures are files: no display, also on a cluster node

import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

DPI = 120


def new_figure(
    width: float = 6.4, height: float = 4.2, ncols: int = 1, nrows: int = 1
) -> tuple[Figure, Any]:
    """A figure and its axes (an array when there are several)."""
    figure, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=nrows * ncols == 1)
    return figure, axes


def save_png(figure: Figure, path: Path, legend_rows: int = 0) -> Path:
    """Write ``figure`` as PNG without a software-version stamp, and close it. ``legend_rows``:
    the rows of a legend below the panels (``shared_legend``), kept free, 0.3 in each."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout(rect=(0, min(0.4, 0.3 * legend_rows / figure.get_figheight()), 1, 1))
    figure.savefig(path, dpi=DPI, metadata={"Software": None})
    plt.close(figure)
    return path


def shared_legend(figure: Figure, axes: Sequence[Axes] | np.ndarray, columns: int = 4) -> int:
    """One legend for the whole figure: the labelled artists of all its panels, each once; in
    the panel when there is one, else below the panels. Returns the rows it takes below them
    (for ``save_png``)."""
    handles: dict[str, Artist] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    if not handles:
        return 0
    if len(axes) == 1:
        axes[0].legend(handles.values(), handles.keys(), fontsize="small")
        return 0
    columns = min(len(handles), columns)
    figure.legend(
        handles.values(),
        handles.keys(),
        loc="lower center",
        ncols=columns,
        fontsize="small",
        frameon=False,
    )
    return math.ceil(len(handles) / columns)
