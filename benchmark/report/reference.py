"""Published values beside ours: ``mlrc tables --reference FILE`` -> ``table_reference``.

A reference file is a tidy CSV typed in by a user (see ``results/reference/README.md``):
``dataset, loss, mode, dim, metric, mean, ci_low, ci_high, n, source``, values as fractions in
[0, 1] like the results rows; ``ci_low``, ``ci_high`` and ``n`` may be empty.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.errors import ResultsError
from benchmark.io import first_bad_row, read_csv_checked
from benchmark.report.labels import (
    OWN_PARAMS_SOURCES,
    dataset_label,
    loss_label,
    metric_label,
    protocol_label,
)
from benchmark.report.latex import escape_latex
from benchmark.report.stats_table import PUBLISHED_MARK, format_mean_interval, loss_row_label
from benchmark.report.table_model import MISSING, Cell, Note, Table, TableDocument

REFERENCE_COLUMNS = (
    "dataset",
    "loss",
    "mode",
    "dim",
    "metric",
    "mean",
    "ci_low",
    "ci_high",
    "n",
    "source",
)
_REQUIRED = ("dataset", "loss", "mode", "dim", "metric", "mean", "source")
_MATCH = ["dataset", "loss", "mode", "dim", "metric"]


def read_reference_csv(path: Path) -> pd.DataFrame:
    """The rows of a reference file, checked (one clear error naming the file and line)."""
    if not Path(path).is_file():
        raise ResultsError(
            f"reference file {path} does not exist; start from results/reference/template.csv"
        )
    rows = read_csv_checked(path, "reference CSV", dtype=str, keep_default_na=False)
    missing = [column for column in _REQUIRED if column not in rows.columns]
    if missing:
        raise ResultsError(
            f"reference file {path}: missing column(s) {', '.join(missing)}; its header is "
            f"{','.join(REFERENCE_COLUMNS)} (see results/reference/README.md)"
        )
    if rows.empty:
        raise ResultsError(
            f"reference file {path} has no rows; add one line per published value "
            "(see results/reference/README.md)"
        )
    for column in ("ci_low", "ci_high", "n"):
        if column not in rows.columns:
            rows[column] = ""
    for column in ("mean", "ci_low", "ci_high", "dim", "n"):
        text = rows[column].str.strip()
        numbers = pd.to_numeric(text, errors="coerce")
        may_be_empty = column in ("ci_low", "ci_high", "n")
        bad = ~np.isfinite(numbers) & ((text != "") if may_be_empty else True)
        _fail_at(path, bad, f"'{column}' must be a number", rows[column])
        rows[column] = numbers
    for column in ("mean", "ci_low", "ci_high"):
        _fail_at(
            path,
            (rows[column] < 0) | (rows[column] > 1),
            f"'{column}' must be a fraction in [0, 1] like the results rows (write 0.452, "
            "not 45.2)",
            rows[column],
        )
    one_bound = rows["ci_low"].isna() != rows["ci_high"].isna()
    _fail_at(path, one_bound, "give both ci_low and ci_high, or neither", rows["ci_low"])
    outside = (rows["ci_low"] > rows["mean"]) | (rows["ci_high"] < rows["mean"])
    _fail_at(path, outside, "the mean must lie within [ci_low, ci_high]", rows["mean"])
    rows["dim"] = rows["dim"].astype("int64")
    return rows


def reference_document(summary: pd.DataFrame, reference: pd.DataFrame) -> TableDocument:
    """One row per (reference value, our matching cell): ours, theirs, the difference in
    points, and whether our mean lies inside their interval."""
    ours = summary[summary["ablation"] == ""]
    merged = reference.merge(ours, on=_MATCH, how="left", suffixes=("", "_ours"))
    merged = merged.rename(
        columns={
            "mean_ours": "ours_mean",
            "ci_low_ours": "ours_ci_low",
            "ci_high_ours": "ours_ci_high",
            "n_ours": "ours_n",
            "half_width": "ours_half_width",
        }
    )
    merged["difference"] = merged["ours_mean"] - merged["mean"]
    has_interval = merged["ci_low"].notna() & merged["ours_mean"].notna()
    inside = (merged["ours_mean"] >= merged["ci_low"]) & (merged["ours_mean"] <= merged["ci_high"])
    merged["ours_inside"] = inside.where(has_interval, None).astype(object)
    cells, labels = [], []
    several_protocols = merged["protocol"].nunique() > 1
    for row in merged.itertuples(index=False):
        labels.append(_row_label(row, several_protocols))
        cells.append(_comparison_cells(row))
    notes = [
        Note(
            "In percent. Ours: mean ± half-width of our interval; reference: mean [interval]; "
            "difference: ours − reference, in points; inside: whether our mean lies in the "
            "reference interval.",
            r"In \%. Ours: mean $\pm$ half-width of our interval; reference: mean [interval]; "
            r"difference: ours $-$ reference, in points; inside: whether our mean lies in the "
            "reference interval.",
        )
    ]
    published = merged[merged["params_source"].notna()]
    published = published[~published["params_source"].isin(OWN_PARAMS_SOURCES)]
    if len(published):
        which = "; ".join(
            dict.fromkeys(
                f"{d}: {s}"
                for d, s in zip(published["display"], published["params_source"], strict=True)
            )
        )
        text = f"{PUBLISHED_MARK} our run with hyperparameters from a published configuration ({which})."
        notes.append(Note(text, escape_latex(text)))
    table = Table(
        title="Our results beside published values",
        row_header="Result",
        row_labels=labels,
        column_labels=["Ours", "Reference", "Difference", "Inside", "Source"],
        cells=cells,
        notes=notes,
        label="tab:reference",
    )
    columns = [
        *_MATCH,
        "protocol",
        "params_source",
        "mean",
        "ci_low",
        "ci_high",
        "n",
        "source",
        "ours_mean",
        "ours_ci_low",
        "ours_ci_high",
        "ours_n",
        "difference",
        "ours_inside",
    ]
    return TableDocument("table_reference", [table], merged[columns])


def _row_label(row: Any, several_protocols: bool) -> str:
    """'CUB · ArcFace† · 512D concatenated MAP@R': which of our results a row compares, with
    the † of a published configuration and, where several ran, the protocol."""
    if isinstance(row.display, str):
        loss = loss_row_label(row.display, row.params_source)
    else:  # none of our results matches
        loss = loss_label(row.loss)
    parts = [dataset_label(row.dataset), loss, f"{row.dim}D {row.mode} {metric_label(row.metric)}"]
    if several_protocols and isinstance(row.protocol, str):
        parts.insert(1, protocol_label(row.protocol))
    return " · ".join(parts)


def _comparison_cells(row: Any) -> list[Cell]:
    theirs = f"{100 * row.mean:.2f}"
    if not math.isnan(row.ci_low):
        theirs += f" [{100 * row.ci_low:.2f}, {100 * row.ci_high:.2f}]"
    source = Cell(str(row.source))
    if math.isnan(row.ours_mean):
        return [MISSING, Cell(theirs), MISSING, MISSING, source]
    ours = format_mean_interval(row.ours_mean, row.ours_half_width, int(row.ours_n), row.metric)
    inside = MISSING if row.ours_inside is None else Cell("yes" if row.ours_inside else "no")
    difference = f"{100 * row.difference:+.2f}".replace("-", "−")  # a minus sign, not a hyphen
    return [Cell(ours), Cell(theirs), Cell(difference), inside, source]


def _fail_at(path: Path, bad: pd.Series, problem: str, shown: pd.Series) -> None:
    index = first_bad_row(bad)
    if index is not None:
        raise ResultsError(
            f"reference file {path}, line {index + 2}: {problem} (found {shown.iloc[index]!r})"
        )
