"""The statistics in every table CSV, recomputed independently from the raw fixed rows.

Means with numpy, intervals with ``scipy.stats.t.interval``, p-values with
``scipy.stats.ttest_ind(..., equal_var=False)`` on the raw repeat values, and Holm's correction
from its textbook step-down definition -- none of it through the code under test.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from fixed_results import GOLDEN_STEMS, fixed_results
from scipy import stats

from benchmark.report.summary import summarize_results, with_best_epoch_rows
from benchmark.report.writer import build_documents
from benchmark.store.results_file import normalize_rows

CONFIDENCE = 0.95
STATS_STEMS = [s for s in GOLDEN_STEMS if s not in ("table_reference", "table_runtime")]


@pytest.fixture(scope="module")
def documents():
    rows = with_best_epoch_rows(normalize_rows(fixed_results()))
    summary = summarize_results(rows, CONFIDENCE)
    return {d.stem: d for d in build_documents(summary, ("map_at_r",))}


@pytest.fixture(scope="module")
def raw_values():
    """(dataset, protocol, loss, params_source, ablation, settings, mode, dim, metric) -> values."""
    rows = fixed_results()
    values = {}
    for row in rows.itertuples(index=False):
        if not np.isfinite(row.value):
            continue  # a result that does not exist: left out of its cell
        key = _key(row.dataset, row.protocol, row.loss, row.params_source, row.ablation,
                   row.ablation_value, row.mode, row.dim, row.metric)  # fmt: skip
        values.setdefault(key, []).append(row.value)
        if row.mode == "single" and row.best_epochs and row.metric == "map_at_r":
            epoch_key = key[:-1] + ("best_epoch",)
            # The paper counts the early-stopped epoch from 0; best_epochs counts from 1.
            epoch = float(np.mean(json.loads(row.best_epochs))) - 1
            values.setdefault(epoch_key, []).append(epoch)
    return values


def _key(dataset, protocol, loss, source, ablation, ablation_value, mode, dim, metric):
    settings = json.dumps(json.loads(ablation_value), sort_keys=True) if ablation_value else ""
    return (dataset, protocol, loss, source, ablation, settings, mode, int(dim), metric)


def _values_of(cell: pd.Series, raw_values):
    fields = ("dataset", "protocol", "loss", "params_source", "ablation", "ablation_value",
              "mode", "dim", "metric")  # fmt: skip
    return np.asarray(raw_values[_key(*(cell[field] for field in fields))])


@pytest.mark.parametrize("stem", STATS_STEMS)
def test_means_and_intervals_match_scipy(documents, raw_values, stem):
    frame = documents[stem].frame
    assert len(frame)
    for _, cell in frame.iterrows():
        values = _values_of(cell, raw_values)
        assert cell["n"] == values.size
        assert cell["mean"] == pytest.approx(values.mean(), abs=1e-12)
        if values.size == 1:
            assert math.isnan(cell["ci_low"]) and math.isnan(cell["ci_high"])
            continue
        if np.ptp(values) == 0:  # identical repeats: a zero-width interval
            low = high = values.mean()
        else:
            low, high = stats.t.interval(
                CONFIDENCE, df=values.size - 1, loc=values.mean(), scale=stats.sem(values)
            )
        assert (cell["ci_low"], cell["ci_high"]) == pytest.approx((low, high), abs=1e-12)


def _families(stem: str, frame: pd.DataFrame):
    """The cells compared with each other: a column of the main tables, a row (per evaluation
    mode) of an ablation, the whole alpha x base grid."""
    compared = frame[(frame["loss"] != "untrained") & (frame["metric"] != "best_epoch")]
    if stem == "table_alpha_base":
        return compared.groupby(["dataset", "loss", "mode"])
    if stem.startswith(("table4", "table6", "table11", "table_embedding")):
        return compared.groupby(["row", "mode"])
    return compared.groupby("column")


def _holm(p_values: list[float]) -> list[float]:
    """Holm's adjusted p-values by definition: the max of (m - rank + 1) p over p's <= this one."""
    m, ranked = len(p_values), sorted(p_values)
    return [
        min(1.0, max((m - j) * ranked[j] for j in range(m) if ranked[j] <= p)) for p in p_values
    ]


# scipy warns when one group is constant (its variance is ~1e-33 instead of 0); harmless here.
@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")
@pytest.mark.parametrize("stem", STATS_STEMS)
def test_best_and_holm_corrected_welch_tests_match_scipy(documents, raw_values, stem):
    families = list(_families(stem, documents[stem].frame))
    assert families
    for _, family in families:
        # The best is the highest mean among cells over at least two repeats; thinner cells
        # are neither best nor tested.
        eligible = family[family["n"] >= 2]
        best_mean = eligible["mean"].max()
        assert (family["is_best"] == ((family["mean"] == best_mean) & (family["n"] >= 2))).all()
        if eligible.empty:
            assert family["p_value"].isna().all()
            continue
        reference = eligible[eligible["mean"] == best_mean].iloc[0]
        best_values = _values_of(reference, raw_values)
        tested, expected_p = [], []
        for index, cell in family.iterrows():
            values = _values_of(cell, raw_values)
            if index == reference.name or values.size < 2:
                assert math.isnan(cell["p_value"]) and math.isnan(cell["p_holm"])
                continue
            if np.ptp(values) == 0 and np.ptp(best_values) == 0:  # scipy gives NaN here
                p = 1.0 if values[0] == best_values[0] else 0.0
            else:
                p = stats.ttest_ind(values, best_values, equal_var=False).pvalue
            tested.append(index)
            expected_p.append(p)
        for index, p, p_holm in zip(tested, expected_p, _holm(expected_p), strict=True):
            cell = family.loc[index]
            assert cell["p_value"] == pytest.approx(p, rel=1e-9, abs=1e-15)
            assert cell["p_holm"] == pytest.approx(p_holm, rel=1e-9, abs=1e-15)
            assert cell["not_significantly_worse"] == (p_holm >= 0.05)


def test_the_fixed_results_exercise_every_significance_outcome(documents):
    cells = pd.concat([documents[stem].frame for stem in STATS_STEMS])
    assert cells["is_best"].sum() > 10
    assert (cells["not_significantly_worse"] == True).sum() > 5  # noqa: E712 (object column)
    assert (cells["not_significantly_worse"] == False).sum() > 5  # noqa: E712
    assert cells["not_significantly_worse"].isna().sum() > 5  # untested: n = 1, baselines
    assert (cells["p_holm"] > cells["p_value"]).any()  # the correction changed something
