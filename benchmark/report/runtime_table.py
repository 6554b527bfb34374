"""``table_runtime``: the rows of ``mlrc profile losses`` as two tables, time and peak memory.

Rows = (batch size B, classes C), columns = losses; a cell is the measurement and its ratio to
PML's ProxyAnchor measured in the same run (below 1x: faster or smaller).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import cast

import pandas as pd

from benchmark.errors import ResultsError
from benchmark.io import read_csv_checked
from benchmark.report.labels import file_slug, loss_label, ordered_losses
from benchmark.report.latex import escape_latex
from benchmark.report.table_model import MISSING, Cell, Note, Table, TableDocument
from benchmark.store.loss_profile import PROFILE_REQUIRED

# (measured column, ratio column, unit, decimals, title)
_QUANTITIES = (
    ("time_ms", "time_vs_proxy_anchor", "ms", 2, "time of one forward + backward step"),
    ("peak_memory_mb", "memory_vs_proxy_anchor", "MB", 1, "peak memory of one step"),
)


def read_profile_csv(path: Path) -> pd.DataFrame:
    """The rows written by ``mlrc profile losses --csv``, checked."""
    if not Path(path).is_file():
        raise ResultsError(
            f"{path} does not exist; write it with `mlrc profile losses --csv {path}`"
        )
    rows = read_csv_checked(path, "profile CSV", keep_default_na=True)
    missing = [column for column in PROFILE_REQUIRED if column not in rows.columns]
    if missing:
        raise ResultsError(
            f"{path}: missing column(s) {', '.join(missing)}; pass the CSV that "
            "`mlrc profile losses --csv FILE` writes"
        )
    return rows


def runtime_document(profile: pd.DataFrame) -> TableDocument:
    """Time and memory tables per (device, embedding size); the CSV is the profile rows."""
    tables = []
    for (device, embedding_size), group in profile.groupby(
        ["device", "embedding_size"], sort=False
    ):
        for quantity in _QUANTITIES:
            size = int(cast(int, embedding_size))  # pandas-stubs: a group key is any Hashable
            tables.append(_quantity_table(group, str(device), size, *quantity))
    frame = profile.assign(display=[loss_label(loss) for loss in profile["loss"]])
    return TableDocument("table_runtime", tables, frame)


def _quantity_table(
    rows: pd.DataFrame,
    device: str,
    embedding_size: int,
    measured: str,
    ratio: str,
    unit: str,
    decimals: int,
    what: str,
) -> Table:
    losses = ordered_losses(rows["loss"])
    shapes = sorted(set(zip(rows["batch_size"], rows["num_classes"], strict=True)))
    cells = []
    skipped: dict[str, list[str]] = {}
    for batch_size, num_classes in shapes:
        line = []
        for loss in losses:
            match = rows[
                (rows["loss"] == loss)
                & (rows["batch_size"] == batch_size)
                & (rows["num_classes"] == num_classes)
            ]
            if match.empty or match.iloc[0]["status"] != "ok":
                if len(match):
                    reason = str(match.iloc[0]["status"]).removeprefix("skipped: ")
                    skipped.setdefault(reason, []).append(
                        f"{loss_label(loss)} B={batch_size} C={num_classes}"
                    )
                line.append(MISSING)
                continue
            value, times = match.iloc[0][measured], match.iloc[0][ratio]
            text = f"{value:.{decimals}f}"
            if not (isinstance(times, float) and math.isnan(times)):
                text += f" ({times:.2f}×)"
            line.append(Cell(text))
        cells.append(line)
    text = (
        f"{what.capitalize()} in {unit}, on {device}, embedding size {embedding_size}; in "
        "parentheses: the ratio to PML's ProxyAnchor measured in the same run (below 1×: "
        f"{'faster' if unit == 'ms' else 'smaller'})."
    )
    notes = [Note(text, escape_latex(text))]
    for reason, which in skipped.items():
        text = f"—: skipped ({reason}): {', '.join(which)}."
        notes.append(Note(text, escape_latex(text)))
    return Table(
        title=f"Runtime: {what} ({unit}), {device}",
        row_header="B, C",
        row_labels=[f"{b}, {c}" for b, c in shapes],
        column_labels=[loss_label(loss) for loss in losses],
        cells=cells,
        notes=notes,
        label=f"tab:runtime-{file_slug(device)}-{embedding_size}-{measured.split('_')[0]}",
    )
