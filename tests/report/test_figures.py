"""What the figures draw: bands only over enough models, display names, one legend, counts.

The figures are inspected before they are written: ``save_png`` is replaced by a recorder that
keeps the matplotlib figure (the PNG files themselves are checked in test_cli_tables).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fixed_results import fixed_results
from matplotlib.collections import PolyCollection
from scipy import stats
from test_cli_tables import make_run_dir

from benchmark.report import ablation_figures, learning_curves, optuna_figures
from benchmark.report.learning_curves import MIN_BAND_MODELS, TAIL_ALPHA, mean_curve
from benchmark.report.summary import summarize_results
from benchmark.store.results_file import normalize_rows


@pytest.fixture
def drawn(monkeypatch):
    """The figures a figure function made, by file name, instead of writing them."""
    figures = {}

    def record(figure, path, legend_rows=0):
        figures[path.name] = figure
        return path

    for module in (learning_curves, optuna_figures, ablation_figures):
        monkeypatch.setattr(module, "save_png", record)
    return figures


def _curve(last_epoch: int, k: int) -> list[dict]:
    return [
        {"epoch": e, "val_map_at_r": 0.1 + 0.003 * k + 0.01 * (k + 1) * e}
        for e in range(last_epoch + 1)
    ]


# Five models stopping at epochs 3, 4, 6, 8 and 8: three or more remain up to epoch 6.
CURVES = [_curve(end, k) for k, end in enumerate((3, 4, 6, 8, 8))]


def test_the_mean_curve_averages_the_models_still_training_with_scipy_intervals():
    curve = mean_curve(CURVES, 0.95)
    assert curve.counts == [5, 5, 5, 5, 4, 3, 3, 2, 2]
    for epoch, mean, low, raw_low, count in zip(
        curve.epochs, curve.means, curve.lows, curve.raw_lows, curve.counts, strict=True
    ):
        values = np.array([100 * c[epoch]["val_map_at_r"] for c in CURVES if len(c) > epoch])
        assert values.size == count and mean == pytest.approx(values.mean())
        expected = stats.t.interval(0.95, values.size - 1, values.mean(), stats.sem(values))[0]
        assert raw_low == pytest.approx(expected)
        assert low == pytest.approx(max(expected, 0.0))  # MAP@R is never below 0 %


def _write_curves(run_dir, curves_of):
    for loss, curves in curves_of.items():
        for repeat, curve in enumerate(curves):
            fit_dir = run_dir / "retrain" / loss / f"repeat_{repeat}" / "fold_0"
            fit_dir.mkdir(parents=True, exist_ok=True)
            (fit_dir / "curve.json").write_text(json.dumps(curve))


def test_the_band_stops_where_fewer_than_three_models_remain_and_the_tail_shows_its_count(
    tmp_path, drawn
):
    run = make_run_dir(tmp_path / "run", curves=False, journal=False)
    _write_curves(run, {"mfcwms": CURVES})
    rows = normalize_rows(pd.read_csv(run / "results.csv"))
    learning_curves.learning_curve_figure(run, rows, tmp_path / "curves.png")
    (axes,) = drawn["curves.png"].axes
    (band,) = [c for c in axes.collections if isinstance(c, PolyCollection)]
    band_epochs = band.get_paths()[0].vertices[:, 0]
    assert band_epochs.max() == 6  # the last epoch with MIN_BAND_MODELS models
    assert MIN_BAND_MODELS == 3
    tail = [line for line in axes.lines if line.get_alpha() == TAIL_ALPHA and len(line.get_xdata())]
    assert len(tail) == 1 and list(tail[0].get_xdata()) == [6, 7, 8]
    assert [text.get_text() for text in axes.texts] == ["n=2"]
    assert axes.get_title() == "Synthetic · demo protocol: learning curves"
    legend = [text.get_text() for text in axes.get_legend().get_texts()]
    assert legend[0] == "MFCWMS (5 models)" and "fewer than 3 models left" in legend[-1]


def test_optuna_panels_are_titled_with_display_names_in_paper_order_and_trial_counts(
    tmp_path, drawn
):
    run = make_run_dir(tmp_path / "run", curves=False, losses=("mfcwms", "contrastive"))
    titles = {"contrastive": "Synthetic · Cont.", "mfcwms": "Synthetic · MFCWMS"}
    optuna_figures.optuna_figures(
        run, None, tmp_path / "history.png", tmp_path / "importance.png", "demo.synthetic.", titles
    )
    importance = [ax.get_title() for ax in drawn["importance.png"].axes if ax.get_visible()]
    assert importance == [  # 6 < MIN_IMPORTANCE_TRIALS: the caveat (test_figure_caveats.py)
        "Synthetic · Cont. (6 trials, fewer than 10: indicative)",
        "Synthetic · MFCWMS (6 trials, fewer than 10: indicative)",
    ]
    history = drawn["history.png"]
    assert [ax.get_title() for ax in history.axes] == [
        "Synthetic · Cont. (6 complete)",
        "Synthetic · MFCWMS (6 complete)",
    ]
    # One legend for the figure, none in the panels.
    assert len(history.legends) == 1 and all(ax.get_legend() is None for ax in history.axes)
    labels = [t.get_text() for t in drawn["importance.png"].axes[0].get_yticklabels()]
    assert set(labels) == {"α", "base"}  # the paper's notation, not "alpha"


def test_the_embedding_dimension_figure_has_one_legend_for_its_panels(tmp_path, drawn):
    rows = normalize_rows(fixed_results())
    rows.loc[rows["ablation"] == "embedding-dim", "dataset"] = np.where(
        rows.loc[rows["ablation"] == "embedding-dim", "loss"] == "mfcwms", "cars196", "cub"
    )
    ablation_figures.embedding_dim_figure(summarize_results(rows), tmp_path)
    figure = drawn["figure3a_embedding_dim.png"]
    assert len(figure.axes) == 2 and len(figure.legends) == 1
    assert all(ax.get_legend() is None for ax in figure.axes)
    assert figure.axes[0].get_xlabel() == "embedding dimension $d$"
