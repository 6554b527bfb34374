"""Figures say what they cannot show: importances from few trials are marked indicative, a study
whose trials all tie keeps its panel, and a learning curve's band stays within [0, 100]%."""

from __future__ import annotations

import json

import optuna
import pandas as pd
from matplotlib.collections import PolyCollection
from optuna.distributions import FloatDistribution
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from test_cli_tables import make_run_dir
from test_figures import drawn  # noqa: F401  (the fixture)

from benchmark.report import learning_curves, optuna_figures
from benchmark.report.learning_curves import CLIPPED_LABEL, mean_curve
from benchmark.report.optuna_figures import FEW_TRIALS_ALPHA, MIN_IMPORTANCE_TRIALS
from benchmark.store.results_file import normalize_rows


def _add_study(run, loss: str, values: list[float]) -> None:
    """A study of ``loss`` in the run's journal whose trials score ``values``."""
    storage = JournalStorage(JournalFileBackend(str(run / "optuna.journal")))
    study = optuna.create_study(
        study_name=f"demo.synthetic.{loss}", storage=storage, direction="maximize"
    )
    distributions = {"alpha": FloatDistribution(0.01, 100, log=True)}
    for number, value in enumerate(values):
        study.add_trial(
            optuna.trial.create_trial(
                params={"alpha": 0.01 * 2**number}, distributions=distributions, value=value
            )
        )


def _importance_panels(tmp_path, drawn, run):  # noqa: F811
    optuna_figures.optuna_figures(
        run, None, tmp_path / "history.png", tmp_path / "importance.png", "demo.synthetic."
    )
    figure = drawn["importance.png"]
    return figure, [ax for ax in figure.axes if ax.get_visible()]


def test_importances_from_fewer_trials_than_the_minimum_are_drawn_lighter_and_say_so(
    tmp_path,
    drawn,  # noqa: F811
):
    run = make_run_dir(tmp_path / "run", curves=False, losses=("mfcwms",))  # 6 trials
    _add_study(run, "contrastive", [0.1 + 0.01 * k for k in range(MIN_IMPORTANCE_TRIALS)])
    figure, panels = _importance_panels(tmp_path, drawn, run)
    few, enough = sorted(panels, key=lambda ax: "contrastive" in ax.get_title())
    assert few.get_title() == "demo.synthetic.mfcwms (6 trials, fewer than 10: indicative)"
    assert enough.get_title() == f"demo.synthetic.contrastive ({MIN_IMPORTANCE_TRIALS} trials)"
    assert {bar.get_alpha() for bar in few.patches} == {FEW_TRIALS_ALPHA}
    assert {bar.get_alpha() for bar in enough.patches} == {1.0}
    (note,) = [text.get_text() for text in figure.texts]
    assert f"fewer than {MIN_IMPORTANCE_TRIALS} complete trials" in note


def test_a_study_whose_trials_all_tie_keeps_its_panel_and_says_so(tmp_path, drawn):  # noqa: F811
    run = make_run_dir(tmp_path / "run", curves=False, losses=("mfcwms",))
    _add_study(run, "contrastive", [0.25] * 4)
    _, panels = _importance_panels(tmp_path, drawn, run)
    tied = next(ax for ax in panels if "contrastive" in ax.get_title())
    assert len(panels) == 2 and not tied.patches  # a panel, without bars
    (text,) = [t.get_text() for t in tied.texts]
    assert "all 4 trials tie at 25.00%" in text


def test_a_learning_curve_band_never_leaves_the_metric_range_and_the_legend_says_so(
    tmp_path,
    drawn,  # noqa: F811
):
    # Near 100 %, one model far below the others: the Student-t band would pass 100 %.
    curves = [[{"epoch": e, "val_map_at_r": v} for e in range(3)] for v in (0.99, 0.98, 0.6)]
    curve = mean_curve(curves)
    assert max(curve.raw_highs) > 100 and max(curve.highs) == 100.0
    assert min(curve.lows) >= 0 and curve.clipped(len(curve.epochs) - 1)

    run = make_run_dir(tmp_path / "run", curves=False, journal=False)
    for k, curve_rows in enumerate(curves):
        fit_dir = run / "retrain" / "mfcwms" / f"repeat_{k}" / "fold_0"
        fit_dir.mkdir(parents=True)
        (fit_dir / "curve.json").write_text(json.dumps(curve_rows))
    rows = normalize_rows(pd.read_csv(run / "results.csv"))
    learning_curves.learning_curve_figure(run, rows, tmp_path / "curves.png")
    (axes,) = drawn["curves.png"].axes
    (band,) = [c for c in axes.collections if isinstance(c, PolyCollection)]
    assert band.get_paths()[0].vertices[:, 1].max() <= 100.0
    assert CLIPPED_LABEL in [text.get_text() for text in axes.get_legend().get_texts()]
