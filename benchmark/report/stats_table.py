"""Tables of means with intervals, the best in bold and significance marks, from the summary.

A builder chooses which summary fields make the rows and the columns and within which cells
the best is sought (``compare_within``: a table column for Table 1, a loss's row for an
ablation); this module matches the cells, runs the tests and phrases the notes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd

from benchmark.report.labels import BEST_EPOCH, OWN_PARAMS_SOURCES, is_percent_metric
from benchmark.report.latex import escape_latex
from benchmark.report.stats import MIN_REPEATS_TO_COMPARE, compare_with_best
from benchmark.report.summary import SUMMARY_KEY
from benchmark.report.table_model import MISSING, Cell, Emphasis, Note, Table
from benchmark.report.unlike_marks import (
    UNLIKE_COLUMNS,
    budget_marks,
    budget_note,
    settings_marks,
    settings_note,
    with_unlike_columns,
)
from benchmark.store.results_file import UNTRAINED

SIGNIFICANCE_LEVEL = 0.05
PUBLISHED_MARK = "†"
SIGNIFICANCE_COLUMNS = ["p_value", "p_holm", "is_best", "not_significantly_worse"]
# One row per cell: what identifies it, its statistics, how it compares with the best.
CSV_COLUMNS = [
    *SUMMARY_KEY,
    "mean",
    "ci_low",
    "ci_high",
    "half_width",
    "std",
    "n",
    "confidence",
    *SIGNIFICANCE_COLUMNS,
    "row",
    "column",
]


@dataclass(frozen=True)
class Axis:
    """The entries of the rows (or columns): the summary fields that identify one, in order."""

    fields: tuple[str, ...]
    keys: list[tuple]
    labels: list[str]
    groups: Sequence[str] = ()


def build_stats_table(
    summary: pd.DataFrame,
    rows: Axis,
    columns: Axis,
    *,
    title: str,
    row_header: str,
    compare_within: tuple[str, ...],
    family: str,
    label: str = "",
) -> tuple[Table, pd.DataFrame]:
    """The table of ``summary``'s cells placed by ``rows`` x ``columns``, and its tidy frame.

    The best mean among the cells sharing the ``compare_within`` fields is bold; the others
    are tested against it (Welch, Holm across that family; ``family`` names it in the notes:
    "column", "row"). The untrained baseline and the best-epoch cells are not compared, nor is
    a cell over a single repeat (shown with ``n=1``); a cell over fewer repeats than its family's
    usual number says its n, and one searched under another budget than its family's says
    that budget (:mod:`benchmark.report.budget_marks`). Rows and columns without any result
    are left out. ``title`` says what the table shows; the caption adds the unit and what ±
    means.
    """
    frame = _place(summary, rows, columns)
    rows, columns, frame = _drop_empty(rows, columns, frame)
    frame = _add_significance(frame, compare_within)
    budgets, settings = budget_marks(frame, compare_within), settings_marks(frame)
    marks = {
        index: ", ".join(
            part for part in (mark, budgets.get(index, ""), settings.get(index, "")) if part
        )
        for index, mark in _repeat_marks(frame).items()
    }
    cells = [[MISSING] * len(columns.keys) for _ in rows.keys]
    record: Any  # a row of columns of several types (pandas-stubs: each the union of all)
    for index, record in zip(frame.index, frame.itertuples(index=False), strict=True):
        cells[record.row_index][record.column_index] = Cell(
            format_mean_interval(record.mean, record.half_width, record.n, record.metric),
            _emphasis(record.bold, record.not_significantly_worse),
            marks[index],
        )
    table = Table(
        title=title + _caption_tail(frame),
        row_header=row_header,
        row_labels=list(rows.labels),
        column_labels=list(columns.labels),
        cells=cells,
        column_groups=list(columns.groups),
        label=label,
    )
    table.notes = stats_notes(
        frame,
        family,
        any(c is MISSING for row in cells for c in row),
        has_marks=any(_repeat_marks(frame).values()),
    )
    if budgets:
        table.notes.append(budget_note(family))
    if settings:
        table.notes.append(settings_note())
    frame = with_unlike_columns(frame, budgets)
    frame = frame.sort_values(["row_index", "column_index"], kind="stable")
    frame = frame.assign(
        row=[rows.labels[i] for i in frame["row_index"]],
        column=[_column_name(columns, j) for j in frame["column_index"]],
    )
    shown = CSV_COLUMNS + [column for column in UNLIKE_COLUMNS if column in frame]
    return table, frame[shown].reset_index(drop=True)


def format_mean_interval(mean: float, half_width: float, n: int, metric: str) -> str:
    """``12.34 ± 0.56`` (percent, 2 decimals) or ``7.5 ± 1.2`` (epochs); the mean if n = 1."""
    if n < 2 or math.isnan(half_width):
        return _shown(mean, metric)
    return f"{_shown(mean, metric)} ± {_shown(half_width, metric)}"


def _shown(value: float, metric: str) -> str:
    """A value as printed: percent with 2 decimals, or epochs with 1."""
    return f"{100 * value:.2f}" if is_percent_metric(metric) else f"{value:.1f}"


def loss_row_label(display: str, params_source: str) -> str:
    """The loss's table label, marked when its parameters came from a published configuration."""
    published = params_source not in OWN_PARAMS_SOURCES
    return f"{display}{PUBLISHED_MARK}" if published else display


def stats_notes(
    frame: pd.DataFrame, family: str, has_missing: bool, has_marks: bool = False
) -> list[Note]:
    """The footnotes of a statistics table: emphasis, repeat marks, the epoch, missing cells,
    † and the untrained baseline (the unit and the interval are in the caption)."""
    if frame.empty:
        return [Note("No results.", "No results.")] if has_missing else []
    notes = []
    if frame["is_best"].any():
        tested = frame["p_holm"].notna().any()
        significance_md = (
            f"; *italic*: not significantly worse than the best (Welch's t-test against it, "
            f"Holm-corrected across the {family}, p ≥ {SIGNIFICANCE_LEVEL})"
        )
        significance_tex = (
            r"; \underline{underlined}: not significantly worse than the best (Welch's $t$-test"
            f" against it, Holm-corrected across the {family}, $p \\geq {SIGNIFICANCE_LEVEL}$)"
        )
        notes.append(
            Note(
                f"**Bold**: best in its {family}" + (significance_md if tested else "") + ".",
                rf"\textbf{{Bold}}: best in its {family}"
                + (significance_tex if tested else "")
                + ".",
            )
        )
    if has_marks:
        text = (
            f"over k repeats, fewer than the rest of its {family} (a result missing, or left "
            f"out as non-finite); below {MIN_REPEATS_TO_COMPARE} repeats a mean has no interval "
            "and is neither best nor tested."
        )
        notes.append(Note(f"(n=k): a mean {text}", f"$^{{n=k}}$: a mean {escape_latex(text)}"))
    if (frame["metric"] == BEST_EPOCH).any():
        text = (
            "Epoch: the epoch of the early-stopped model, counted from 0 as in the paper "
            "(0: after the first epoch of training)."
        )
        notes.append(Note(text, escape_latex(text)))
    if has_missing:
        notes.append(Note("—: no result.", "---: no result."))
    published = frame[~frame["params_source"].isin(OWN_PARAMS_SOURCES)]
    if len(published):
        pairs = dict.fromkeys(zip(published["display"], published["params_source"], strict=True))
        which = "; ".join(f"{display}: {source}" for display, source in pairs)
        text = f"hyperparameters from a published configuration ({which}), not from our search."
        text = f"{PUBLISHED_MARK} {text}"
        notes.append(Note(text, escape_latex(text)))
    if (frame["loss"] == UNTRAINED).any():
        text = "no training: the untrained networks every loss starts from (not compared)."
        if (frame["metric"] == BEST_EPOCH).any():
            text = text[:-2] + "; never trained, so no epoch)."
        notes.append(Note(text, escape_latex(text)))
    return notes


def _caption_tail(frame: pd.DataFrame) -> str:
    """What the caption adds to a table's title: the unit and what ± means, e.g. ", in
    percent: mean ± half-width of the 95% Student-t confidence interval over 10 repeats."."""
    if frame.empty:
        return "."
    percent = frame["metric"].map(is_percent_metric)
    unit = "in percent" if percent.all() else "MAP@R in percent" if percent.any() else ""
    usual = sorted(set(frame["usual_n"]))
    if usual[-1] < MIN_REPEATS_TO_COMPARE:
        spread = "means over a single repeat (no interval, no test)"
    else:
        repeats = f"{usual[-1]}" if len(usual) == 1 else f"{usual[0]}–{usual[-1]}"
        confidence = f"{frame['confidence'].iloc[0]:.0%}"
        spread = (
            f"mean ± half-width of the {confidence} Student-t confidence interval over "
            f"{repeats} repeats"
        )
    return f", {unit}: {spread}." if unit else f": {spread}."


def _repeat_marks(frame: pd.DataFrame) -> dict[int, str]:
    """``n=k`` for each cell over fewer repeats than its family's usual number, and for every
    cell too thin to compare; else ''."""
    return {
        index: f"n={n}" if n < MIN_REPEATS_TO_COMPARE or n < usual else ""
        for index, n, usual in zip(frame.index, frame["n"], frame["usual_n"], strict=True)
    }


def _usual_n(ns: pd.Series) -> int:
    """A family's usual number of repeats: its most frequent n, the larger one on a tie."""
    counts = ns.value_counts()
    return int(max(cast(int, n) for n, count in counts.items() if count == counts.max()))


def _drop_empty(rows: Axis, columns: Axis, frame: pd.DataFrame) -> tuple[Axis, Axis, pd.DataFrame]:
    """Rows and columns that hold no result are left out (a column of "—" says nothing)."""
    kept_rows = sorted(set(frame["row_index"]))
    kept_columns = sorted(set(frame["column_index"]))
    frame = frame.assign(
        row_index=frame["row_index"].map({old: new for new, old in enumerate(kept_rows)}),
        column_index=frame["column_index"].map({old: new for new, old in enumerate(kept_columns)}),
    )
    return _subset(rows, kept_rows), _subset(columns, kept_columns), frame


def _subset(axis: Axis, kept: list[int]) -> Axis:
    return Axis(
        axis.fields,
        [axis.keys[i] for i in kept],
        [axis.labels[i] for i in kept],
        [axis.groups[i] for i in kept] if axis.groups else (),
    )


def _place(summary: pd.DataFrame, rows: Axis, columns: Axis) -> pd.DataFrame:
    row_index = {key: i for i, key in enumerate(rows.keys)}
    column_index = {key: j for j, key in enumerate(columns.keys)}
    frame = summary.assign(
        # pandas-stubs refuse a list with None (a missing value), which pandas takes
        row_index=[row_index.get(key) for key in _keys(summary, rows.fields)],  # type: ignore[misc]
        column_index=[column_index.get(key) for key in _keys(summary, columns.fields)],  # type: ignore[misc]
    )
    frame = frame[frame["row_index"].notna() & frame["column_index"].notna()]
    frame = frame.astype({"row_index": int, "column_index": int})
    clash = frame.duplicated(["row_index", "column_index"], keep=False)
    if clash.any():
        raise ValueError(
            "several summary cells land in one table cell:\n" + frame[clash].to_string()
        )
    return frame


def _add_significance(frame: pd.DataFrame, compare_within: tuple[str, ...]) -> pd.DataFrame:
    """The comparison columns of the CSV; ``usual_n``, the usual number of repeats of each
    family; and ``bold``: the best, and any mean over enough repeats that equals it as printed
    (a reader sees a tie; the CSV's ``is_best`` keeps the exact comparison)."""
    frame = frame.assign(
        p_value=math.nan,
        p_holm=math.nan,
        is_best=False,
        not_significantly_worse=None,
        bold=False,
        usual_n=frame["n"],
    )
    frame["not_significantly_worse"] = frame["not_significantly_worse"].astype(object)
    if frame.empty:
        return frame
    families = frame.groupby(list(compare_within), sort=False, dropna=False)["n"]
    frame["usual_n"] = families.transform(_usual_n).astype(int)
    compared = (frame["loss"] != UNTRAINED) & frame["metric"].map(is_percent_metric)
    if not compared.any():
        return frame
    for _, family in frame[compared].groupby(list(compare_within), sort=False, dropna=False):
        results = compare_with_best(
            family["mean"].to_list(),
            family["std"].fillna(0.0).to_list(),
            family["n"].to_list(),
            SIGNIFICANCE_LEVEL,
        )
        best = [index for index, r in zip(family.index, results, strict=True) if r.is_best]
        best_shown = (
            _shown(cast(float, frame.at[best[0], "mean"]), family["metric"].iloc[0])
            if best
            else None
        )
        for index, result in zip(family.index, results, strict=True):
            frame.loc[index, ["p_value", "p_holm"]] = [result.p_value, result.p_holm]
            frame.loc[index, "is_best"] = result.is_best
            frame.at[index, "not_significantly_worse"] = result.not_worse
            frame.loc[index, "bold"] = bool(
                cast(int, frame.at[index, "n"]) >= MIN_REPEATS_TO_COMPARE
                and _shown(
                    cast(float, frame.at[index, "mean"]), cast(str, frame.at[index, "metric"])
                )
                == best_shown
            )
    return frame


def _emphasis(bold: bool, not_worse: bool | None) -> Emphasis:
    if bold:
        return Emphasis.BEST
    return Emphasis.NOT_WORSE if not_worse else Emphasis.NONE


def _keys(frame: pd.DataFrame, fields: tuple[str, ...]) -> list[tuple]:
    return list(zip(*(frame[field] for field in fields), strict=True)) if len(frame) else []


def _column_name(columns: Axis, j: int) -> str:
    group = columns.groups[j] if columns.groups else ""
    return f"{group} {columns.labels[j]}".strip()
