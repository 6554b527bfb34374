"""Validation learning curves of the retrained models, one line per loss with an interval band.

Curves are read from ``<run_dir>/retrain/<loss>/repeat_<r>/fold_<k>/curve.json``. At each epoch
the line is the mean over the models (repeats x folds) that had not yet early-stopped, and the
band its Student-t interval. The band is drawn only while at least :data:`MIN_BAND_MODELS`
models remain: past that, the interval of two models is wide and jumpy (t = 12.7 at 95%) and
the mean is a single model's curve, so the line goes on lighter, without a band, and says how
many models it still holds. MAP@R lies in [0, 100]%: a Student-t band reaching past either end
(few models, one far from the others) is clipped there, and the legend says so. In the
traditional protocol the "validation" set is the test split (that protocol early-stops on it):
the figure is the paper's Figure 4.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator
from matplotlib.typing import ColorType

from benchmark.engine import FitDirectory
from benchmark.report._plotting import new_figure, save_png
from benchmark.report.figure_outcome import FigureOutcome
from benchmark.report.labels import dataset_label, loss_label, ordered_losses, protocol_label
from benchmark.report.sources import run_identity
from benchmark.report.stats import confidence_interval
from benchmark.store.results_file import MODE_SEPARATED, MODE_SINGLE
from benchmark.store.run_directory import RunDirectory

CURVE_METRIC = "val_map_at_r"
MIN_BAND_MODELS = 3
"""Fewer models than this at an epoch: the mean alone, lighter, with the count shown."""
TAIL_ALPHA = 0.4
METRIC_RANGE = (0.0, 100.0)
"""The range of the curve's metric, in percent: the band never leaves it."""
CLIPPED_LABEL = "band clipped to MAP@R's range [0, 100]%"


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
    traditional = (rows["mode"] == MODE_SINGLE).any() and not (rows["mode"] == MODE_SEPARATED).any()
    display = dict(zip(rows["loss"], rows["display"], strict=True))
    figure, axes = new_figure()
    thinned = clipped = False
    for loss in ordered_losses(curves):
        curve = mean_curve(curves[loss], confidence)
        label = f"{display.get(loss, loss_label(loss))} ({len(curves[loss])} models)"
        band = [i for i, n in enumerate(curve.counts) if n >= MIN_BAND_MODELS]
        last = band[-1] if band else 0
        clipped |= curve.clipped(last)
        (line,) = axes.plot(curve.epochs[: last + 1], curve.means[: last + 1], label=label)
        axes.fill_between(
            curve.epochs[: last + 1],
            curve.lows[: last + 1],
            curve.highs[: last + 1],
            color=line.get_color(),
            alpha=0.2,
            linewidth=0,
        )
        if last + 1 < len(curve.epochs):
            thinned = True
            _draw_tail(axes, curve, last, line.get_color())
    if thinned:
        axes.plot([], [], color="0.5", alpha=TAIL_ALPHA, label=_TAIL_LABEL)
    if clipped:
        axes.plot([], [], color="none", label=CLIPPED_LABEL)
    where = "test split (early-stopping set)" if traditional else "validation classes"
    axes.set_xlabel("epochs of training (0: the untrained network)")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel(f"MAP@R (%) on the {where}")
    axes.set_title(
        f"{dataset_label(dataset)} · {protocol_label(protocol)} protocol: learning curves"
    )
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    return FigureOutcome(save_png(figure, png_path))


_TAIL_LABEL = f"fewer than {MIN_BAND_MODELS} models left (n shown): mean only"


@dataclass(frozen=True)
class MeanCurve:
    """Per epoch: the mean over the models still training, its interval, and their number."""

    epochs: list[int]
    means: list[float]
    lows: list[float]
    highs: list[float]
    counts: list[int]
    raw_lows: list[float] = field(default_factory=list)
    raw_highs: list[float] = field(default_factory=list)
    """The interval before clipping to :data:`METRIC_RANGE`."""

    def clipped(self, last: int) -> bool:
        """Whether the band up to epoch index ``last`` was clipped anywhere."""
        return any(
            low != raw_low or high != raw_high
            for low, raw_low, high, raw_high in zip(
                self.lows[: last + 1],
                self.raw_lows[: last + 1],
                self.highs[: last + 1],
                self.raw_highs[: last + 1],
                strict=True,
            )
        )


def mean_curve(curves: list[list[dict]], confidence: float = 0.95) -> MeanCurve:
    """The mean curve (in percent) of ``curves`` over the models present at each epoch; its
    interval clipped to :data:`METRIC_RANGE`."""
    by_epoch: dict[int, list[float]] = defaultdict(list)
    for curve in curves:
        for row in curve:
            by_epoch[int(row["epoch"])].append(100 * float(row[CURVE_METRIC]))
    epochs = sorted(by_epoch)
    intervals = [confidence_interval(by_epoch[epoch], confidence) for epoch in epochs]
    # With one model there is no interval: the bounds are the mean.
    lows = [i.mean if i.n < 2 else i.low for i in intervals]
    highs = [i.mean if i.n < 2 else i.high for i in intervals]
    bottom, top = METRIC_RANGE
    return MeanCurve(
        epochs=epochs,
        means=[i.mean for i in intervals],
        lows=[max(low, bottom) for low in lows],
        highs=[min(high, top) for high in highs],
        counts=[i.n for i in intervals],
        raw_lows=lows,
        raw_highs=highs,
    )


def _draw_tail(axes: Axes, curve: MeanCurve, start: int, colour: ColorType) -> None:
    """The curve past its last banded epoch: lighter, no band, its model count where it
    changes."""
    axes.plot(
        curve.epochs[start:], curve.means[start:], color=colour, alpha=TAIL_ALPHA, linewidth=1.2
    )
    shown = None
    for epoch, mean, count in zip(
        curve.epochs[start + 1 :], curve.means[start + 1 :], curve.counts[start + 1 :], strict=True
    ):
        if count != shown:
            axes.annotate(
                f"n={count}",
                (epoch, mean),
                textcoords="offset points",
                xytext=(2, 4),
                fontsize="x-small",
                color=colour,
                alpha=0.8,
            )
            shown = count
