"""Reading the tidy result rows of one or many runs, old and new ``results.csv`` files alike.

A source is a run directory (``results.csv`` and, maybe, ``run.json``, learning curves and an
Optuna journal), a folder holding a ``results.csv`` (like ``results/example/``), or a results CSV
file. Columns added to the writer after a file was made take their documented defaults.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.errors import ResultsError
from benchmark.report.csv_input import first_bad_row, read_csv_checked
from benchmark.report.labels import UNTRAINED, loss_label

REQUIRED_COLUMNS = ("dataset", "protocol", "loss", "repeat", "mode", "dim", "metric", "value")
# The key of one result: a second row with the same key (in one file or across sources) would
# be counted twice in a mean.
ROW_KEY = (
    "dataset",
    "protocol",
    "loss",
    "params_source",
    "ablation",
    "ablation_value",
    "mode",
    "dim",
    "metric",
    "repeat",
)
ORIGIN = "origin"  # the column naming the file each row came from


@dataclass(frozen=True)
class ResultsSource:
    """One SOURCE given to ``mlrc tables``: its rows and, for a directory, the directory and
    its ``run.json`` (``{}`` for a CSV file or a folder without one)."""

    run_dir: Path | None
    rows: pd.DataFrame
    manifest: dict = field(default_factory=dict)


def read_source(path: Path) -> ResultsSource:
    """The results of a run directory, a folder holding ``results.csv``, or a CSV file."""
    path = Path(path)
    if path.is_dir():
        results_csv = path / "results.csv"
        if not results_csv.is_file():
            raise ResultsError(
                f"{path} holds no results.csv; pass a run directory made by `mlrc run` (after "
                "its retrain stage), a folder holding a results.csv, or a results CSV file"
            )
        return ResultsSource(path, read_results_csv(results_csv), read_manifest(path))
    if path.is_file():
        return ResultsSource(None, read_results_csv(path))
    raise ResultsError(f"{path} does not exist; pass a run directory or a results CSV file")


def read_manifest(run_dir: Path) -> dict:
    """``run.json`` of a run directory, or ``{}`` for a folder holding only results."""
    path = run_dir / "run.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path} is not valid JSON ({exc}); restore it or remove it") from None


def read_results_csv(path: Path) -> pd.DataFrame:
    """The rows of one results CSV, checked and completed with defaults (see normalize_rows)."""
    rows = read_csv_checked(path, "results CSV", dtype=str, keep_default_na=False)
    return normalize_rows(rows, str(path))


def normalize_rows(rows: pd.DataFrame, origin: str = "results rows") -> pd.DataFrame:
    """Check the required columns and types; fill the columns old files lack.

    Defaults: ``display`` = the loss's table label, ``params_source`` = ``search`` (``none``
    for the untrained baseline), ``ablation`` and ``ablation_value`` empty (the latter is made
    canonical JSON), ``best_epochs`` empty (unknown). Idempotent.
    """
    missing = [column for column in REQUIRED_COLUMNS if column not in rows.columns]
    if missing:
        raise ResultsError(
            f"{origin}: missing column(s) {', '.join(missing)}; a results file has the columns "
            f"{', '.join(REQUIRED_COLUMNS)} (and more), as `mlrc run` and `mlrc retrain` write them"
        )
    rows = rows.copy()
    for column in ("display", "params_source", "ablation", "ablation_value", "best_epochs"):
        if column not in rows.columns:
            rows[column] = ""
        rows[column] = rows[column].astype(object).where(rows[column].notna(), "").astype(str)
    for column in REQUIRED_COLUMNS:
        if column not in ("repeat", "dim", "value"):
            rows[column] = rows[column].astype(str)
    for column, kind in (("repeat", "integer"), ("dim", "integer"), ("value", "number")):
        numbers = pd.to_numeric(rows[column], errors="coerce")
        bad = ~np.isfinite(numbers) | ((numbers % 1 != 0) if kind == "integer" else False)
        index = first_bad_row(bad)
        if index is not None:
            raise ResultsError(
                f"{origin}, line {index + 2}: column '{column}' must be a finite {kind}, not "
                f"{rows[column].iloc[index]!r}; fix or delete that row"
            )
        rows[column] = numbers.astype("int64" if kind == "integer" else "float64")
    untrained = rows["loss"] == UNTRAINED
    rows.loc[rows["display"] == "", "display"] = rows.loc[rows["display"] == "", "loss"].map(
        loss_label
    )
    rows.loc[(rows["params_source"] == "") & untrained, "params_source"] = "none"
    rows.loc[rows["params_source"] == "", "params_source"] = "search"
    rows["ablation_value"] = [
        _canonical_json(text, origin, i) for i, text in enumerate(rows["ablation_value"])
    ]
    for i, text in enumerate(rows["best_epochs"]):
        _check_number_list(text, origin, i)
    if ORIGIN not in rows.columns:
        rows[ORIGIN] = origin
    _check_unique(rows)
    return rows


def merge_rows(sources: list[ResultsSource]) -> pd.DataFrame:
    """The rows of every source; a result present in two sources is an error, not a mean."""
    frames = [source.rows for source in sources if len(source.rows)]
    if not frames:
        return normalize_rows(pd.DataFrame(columns=list(REQUIRED_COLUMNS)))
    merged = pd.concat(frames, ignore_index=True)
    _check_unique(merged)
    return merged


def run_identity(rows: pd.DataFrame) -> tuple[str, str] | None:
    """``(protocol, dataset)`` of rows from one protocol and dataset, else None."""
    protocols, datasets = rows["protocol"].unique(), rows["dataset"].unique()
    if len(protocols) == 1 and len(datasets) == 1:
        return str(protocols[0]), str(datasets[0])
    return None


def ablation_settings(ablation_value: str) -> dict[str, object]:
    """The ablated settings of a row (``{}`` for a normal row)."""
    return json.loads(ablation_value) if ablation_value else {}


def best_epoch_of(best_epochs: str) -> float | None:
    """The early-stopped epoch of a row: the mean over its fold models, None when unknown."""
    if not best_epochs:
        return None
    epochs = json.loads(best_epochs)
    return sum(epochs) / len(epochs) if epochs else None


def _canonical_json(text: str, origin: str, index: int) -> str:
    if not text:
        return ""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise ResultsError(
            f"{origin}, line {index + 2}: ablation_value must be a JSON object such as "
            f'{{"batch_size": 180}}, not {text!r}'
        )
    return json.dumps(value, sort_keys=True)


def _check_number_list(text: str, origin: str, index: int) -> None:
    if not text:
        return
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not (isinstance(value, list) and all(isinstance(v, int | float) for v in value)):
        raise ResultsError(
            f"{origin}, line {index + 2}: best_epochs must be a JSON list of epochs such as "
            f"[12, 15, 9, 14], not {text!r}"
        )


def _check_unique(rows: pd.DataFrame) -> None:
    duplicated = rows.duplicated(list(ROW_KEY), keep=False)
    if not duplicated.any():
        return
    first = rows[duplicated].iloc[0]
    same = rows[duplicated & (rows[list(ROW_KEY)] == first[list(ROW_KEY)]).all(axis=1)]
    where = " and ".join(dict.fromkeys(same[ORIGIN])) if ORIGIN in rows else "the rows"
    what = ", ".join(f"{key}={first[key]}" for key in ROW_KEY if first[key] != "")
    raise ResultsError(
        f"the result ({what}) appears more than once, in {where}; pass each run once "
        "(a result counted twice would bias the mean and narrow the interval)"
    )
