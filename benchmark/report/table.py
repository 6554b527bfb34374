"""The Table-1-style summary: rows = losses, columns = separated / concatenated metrics."""

from __future__ import annotations

import math

import pandas as pd

from benchmark.report.stats import confidence_interval

METRIC_LABELS = {"map_at_r": "MAP@R", "precision_at_1": "P@1", "r_precision": "RP"}


def summarize_results(rows: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Mean, CI bounds and n per (dataset, loss, mode, dim, metric) over the repeats."""
    records = []
    keys = ["dataset", "loss", "display", "mode", "dim", "metric"]
    for key, group in rows.groupby(keys, sort=False):
        interval = confidence_interval(group["value"].to_list(), confidence)
        records.append(
            dict(
                zip(keys, key, strict=True),
                mean=interval.mean,
                ci_low=interval.low,
                ci_high=interval.high,
                half_width=interval.half_width,
                n=interval.n,
            )
        )
    return pd.DataFrame.from_records(records)


def format_results_table(
    rows: pd.DataFrame,
    metrics: tuple[str, ...] = ("map_at_r",),
    confidence: float = 0.95,
) -> str:
    """A Markdown table, one row per loss, cells "mean ± CI half-width" in percent."""
    if rows.empty:
        return "(no results yet)"
    summary = summarize_results(rows, confidence)
    columns = []
    for mode in ("separated", "concatenated"):
        dims = summary.loc[summary["mode"] == mode, "dim"].unique()
        for dim in sorted(dims):
            columns += [(mode, int(dim), metric) for metric in metrics]
    header = ["Loss"] + [f"{dim}D {METRIC_LABELS.get(m, m)}" for _, dim, m in columns]
    n_repeats = int(summary["n"].max())
    lines = [
        f"| {' | '.join(header)} |",
        f"|{'|'.join(['---'] + [':---:'] * len(columns))}|",
    ]
    for (_, display), group in summary.groupby(["loss", "display"], sort=False):
        cells = [display]
        for mode, dim, metric in columns:
            match = group[(group["mode"] == mode) & (group["dim"] == dim) & (group["metric"] == metric)]
            cells.append(_cell(match.iloc[0]) if len(match) else "–")
        lines.append(f"| {' | '.join(cells)} |")
    lines.append("")
    lines.append(
        f"Mean ± half-width of the {confidence:.0%} Student-t interval over {n_repeats} repeats, "
        "in percent."
    )
    return "\n".join(lines)


def _cell(summary_row: pd.Series) -> str:
    mean = 100 * summary_row["mean"]
    half = summary_row["half_width"]
    if math.isnan(half):
        return f"{mean:.2f}"
    return f"{mean:.2f} ± {100 * half:.2f}"
