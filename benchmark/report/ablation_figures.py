"""Figures of the ablations: MAP@R vs embedding dimension (Figure 3a) and the MFCWMS alpha x
base heatmap (Figure 3b), drawn from the same cells as their tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import FixedLocator, NullLocator

from benchmark.report._plotting import new_figure, save_png, shared_legend
from benchmark.report.figure_outcome import FigureOutcome
from benchmark.report.labels import (
    MODE_LABELS,
    dataset_label,
    ordered_datasets,
    ordered_losses,
    ordered_modes,
)
from benchmark.report.paper_tables import SETTING, ablation_cells
from benchmark.store.results_file import MODE_CONCATENATED, MODE_SINGLE

EMBEDDING_DIM = "embedding-dim"
ALPHA_BASE = "alpha-base"


def embedding_dim_figure(summary: pd.DataFrame, out_dir: Path) -> FigureOutcome:
    """``figure3a_embedding_dim.png``: MAP@R vs d per loss (and mode), a band for the interval;
    one panel per dataset."""
    cells = ablation_cells(summary, EMBEDDING_DIM)
    size = SETTING + "embedding_size"
    if cells.empty or size not in cells:
        return FigureOutcome.skip(f"figure 3a: no '{EMBEDDING_DIM}' ablation rows")
    datasets = ordered_datasets(cells["dataset"])
    figure, axes = new_figure(5.0 * len(datasets), 4.0, ncols=len(datasets))
    axes = np.atleast_1d(axes).ravel()
    several_modes = cells["mode"].nunique() > 1
    colours = {loss: f"C{k}" for k, loss in enumerate(ordered_losses(cells["loss"]))}
    for dataset, ax in zip(datasets, axes, strict=True):
        block = cells[cells["dataset"] == dataset]
        for loss in ordered_losses(block["loss"]):
            for mode in ordered_modes(block["mode"]):
                line = block[(block["loss"] == loss) & (block["mode"] == mode)].sort_values(size)
                if line.empty:
                    continue
                mode_text = MODE_LABELS.get(mode, mode).lower()
                label = line["display"].iloc[0] + (f" ({mode_text})" if several_modes else "")
                x = line[size].astype(float).to_numpy()
                mean = 100 * line["mean"].to_numpy()
                style = "--" if mode == MODE_CONCATENATED else "-"  # one colour per loss
                ax.plot(x, mean, style, marker="o", color=colours[loss], label=label)
                low = np.where(line["n"] > 1, 100 * line["ci_low"], mean)
                high = np.where(line["n"] > 1, 100 * line["ci_high"], mean)
                ax.fill_between(x, low, high, color=colours[loss], alpha=0.15, linewidth=0)
        ax.set_xscale("log", base=2)
        ticks = sorted(block[size].astype(float).unique())
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([f"{t:g}" for t in ticks])
        ax.set_xlabel("embedding dimension $d$")
        ax.set_ylabel("MAP@R (%)")
        ax.set_title(f"{dataset_label(dataset)} · MAP@R per embedding dimension")
        ax.grid(alpha=0.3)
    rows = shared_legend(figure, axes)
    return FigureOutcome(save_png(figure, out_dir / "figure3a_embedding_dim.png", rows))


def alpha_base_figure(summary: pd.DataFrame, out_dir: Path) -> FigureOutcome:
    """``figure3b_alpha_base.png``: mean MAP@R over (alpha, base), one heatmap per
    (dataset, loss, mode)."""
    cells = ablation_cells(summary, ALPHA_BASE)
    alpha, base = SETTING + "alpha", SETTING + "base"
    if cells.empty or alpha not in cells or base not in cells:
        return FigureOutcome.skip(f"figure 3b: no '{ALPHA_BASE}' ablation rows with alpha and base")
    panels = list(
        dict.fromkeys(zip(cells["dataset"], cells["display"], cells["mode"], strict=True))
    )
    figure, axes = new_figure(5.2 * len(panels), 4.4, ncols=len(panels))
    axes = np.atleast_1d(axes).ravel()
    for (dataset, display, mode), ax in zip(panels, axes, strict=True):
        block = cells[
            (cells["dataset"] == dataset) & (cells["display"] == display) & (cells["mode"] == mode)
        ]
        grid = block.pivot_table(index=alpha, columns=base, values="mean", aggfunc="first") * 100
        values = grid.to_numpy(dtype=float)
        image = ax.imshow(values, cmap="viridis", aspect="auto", origin="lower")
        middle = (np.nanmin(values) + np.nanmax(values)) / 2
        repeats = block.pivot_table(index=alpha, columns=base, values="n", aggfunc="first")
        for (i, j), value in np.ndenumerate(values):
            if not np.isnan(value):  # dark text on the light (high) end of viridis
                colour = "black" if value > middle else "white"
                n = repeats.to_numpy()[i, j]
                text = f"{value:.1f}" + (f"\n(n={n:g})" if n < 2 else "")  # as the table
                ax.text(j, i, text, ha="center", va="center", color=colour)
        ax.set_xticks(range(grid.shape[1]), [f"{v:g}" for v in grid.columns])
        ax.set_yticks(range(grid.shape[0]), [f"{v:g}" for v in grid.index])
        ax.set_xlabel("base")
        ax.set_ylabel(r"$\alpha$")
        shown_mode = "" if mode == MODE_SINGLE else f" ({MODE_LABELS.get(mode, mode).lower()})"
        ax.set_title(f"{dataset_label(dataset)} · {display}{shown_mode}: MAP@R (%)")
        figure.colorbar(image, ax=ax)
    return FigureOutcome(save_png(figure, out_dir / "figure3b_alpha_base.png"))
