"""Validation learning curves of the retrained models, one line per loss with an interval band.

Curves are read from ``<run_dir>/retrain/<loss>/repeat_<r>/fold_<k>/curve.json``. At each epoch
the line is the mean over the models (repeats x folds) that had not yet early-stopped, and the
band its Student-t interval. In the traditional protocol the "validation" set is the test
split (that protocol early-stops on it): the figure is the paper's Figure 4.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pandas as pd

from benchmark.engine import FitDirectory
from benchmark.report._plotting import new_figure, save_png
from benchmark.report.figure_outcome import FigureOutcome
from benchmark.report.labels import dataset_label, loss_label, ordered_losses
from benchmark.report.sources import run_identity
from benchmark.report.stats import confidence_interval
from benchmark.study.run_dir import RunDirectory

CURVE_METRIC = "val_map_at_r"


def read_curves(run_dir: Path) -> dict[str, list[list[dict]]]:
    """loss -> the curves of its retrained models (each a list of validation rows)."""
    curves: dict[str, list[list[dict]]] = defaultdict(list)
    for loss, fit_dirs in RunDirectory(run_dir).retrain_fit_dirs().items():
        for fit_dir in fit_dirs:
            try:
                rows = json.loads(FitDirectory(fit_dir).curve_json.read_text())
            except (OSError, json.JSONDecodeError):
                continue  # missing, or being rewritten by a running job: the others still plot
            if rows and all(CURVE_METRIC in row and "epoch" in row for row in rows):
                curves[loss].append(rows)
    return dict(curves)


def learning_curve_figure(
    run_dir: Path, rows: pd.DataFrame, png_path: Path, confidence: float = 0.95
) -> FigureOutcome:
    """The learning curves of one run directory (its result ``rows`` name the losses)."""
    protocol, dataset = run_identity(rows) or (run_dir.name, run_dir.name)
    curves = read_curves(run_dir)
    if not curves:
        return FigureOutcome.skip(
            f"learning curves of {run_dir}: no retrain/<loss>/repeat_*/fold_*/curve.json there"
        )
    traditional = (rows["mode"] == "single").any() and not rows["mode"].isin(["separated"]).any()
    display = dict(zip(rows["loss"], rows["display"], strict=True))
    figure, axes = new_figure()
    for loss in ordered_losses(curves):
        epochs, means, lows, highs = _mean_curve(curves[loss], confidence)
        label = f"{display.get(loss, loss_label(loss))} ({len(curves[loss])} models)"
        (line,) = axes.plot(epochs, means, label=label, linewidth=1.5)
        axes.fill_between(epochs, lows, highs, color=line.get_color(), alpha=0.2, linewidth=0)
    where = "test split (early-stopping set)" if traditional else "validation classes"
    axes.set_xlabel("epoch")
    axes.set_ylabel(f"MAP@R (%) on the {where}")
    axes.set_title(f"{protocol} protocol, {dataset_label(dataset)}: learning curves")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    return FigureOutcome(save_png(figure, png_path))


def _mean_curve(curves: list[list[dict]], confidence: float):
    by_epoch: dict[int, list[float]] = defaultdict(list)
    for curve in curves:
        for row in curve:
            by_epoch[int(row["epoch"])].append(100 * float(row[CURVE_METRIC]))
    epochs = sorted(by_epoch)
    intervals = [confidence_interval(by_epoch[epoch], confidence) for epoch in epochs]
    means = [interval.mean for interval in intervals]
    # With one model left there is no interval: the band closes onto the line.
    lows = [i.mean if i.n < 2 else i.low for i in intervals]
    highs = [i.mean if i.n < 2 else i.high for i in intervals]
    return epochs, means, lows, highs
