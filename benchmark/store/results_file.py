"""The results file: tidy rows, one per (dataset, protocol, loss, repeat, mode, metric).

This module owns the schema of ``results.csv`` for every stage that writes it and every command
that reads it (``mlrc tables``, ``mlrc slurm status``): its columns, the writer (appends under a
file lock, each repeat once), the reader (checked and completed with defaults), and the name of
the untrained baseline. Tables, figures and statistics are pure functions of these rows.

The columns:

- ``dataset``, ``protocol``, ``loss`` (registry name, :data:`UNTRAINED` for the baseline),
  ``display`` (the table label), ``repeat``;
- ``mode``: ``separated`` (mean of the fold models' metrics), ``concatenated`` (the fold
  embeddings normalised and concatenated) or ``single`` (one model per repeat); ``dim``;
- ``metric``, ``value``;
- ``params`` (JSON), ``params_source`` (``search``, ``protocol``, ``none`` or the name of a
  published configuration), ``n_trials`` (the study budget the searched parameters were chosen
  under; empty when nothing was searched, or in files written before it was recorded), ``seeds``, ``best_iterations``, ``best_epochs`` (JSON lists, one
  entry per model), ``ablation`` and ``ablation_value`` (empty, or the ablation's name and a
  JSON object of the ablated settings), ``code_version``.

The file is whole or refused: a torn or short row (a writer died mid-write, a copy was cut) is
never read as a value. The reader refuses it with one line naming the file and the row; the
stages that write the file repair it first (:meth:`ResultsFile.repair`), dropping the repeats
the tear touched (:mod:`benchmark.store.torn_repeats`) so that they are computed again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.config import ProtocolConfig
from benchmark.errors import ResultsError, UnknownLossError
from benchmark.io import (
    atomic_write_text,
    file_lock,
    read_csv_checked,
    read_text_checked,
    split_torn_csv,
)
from benchmark.store.result_fields import (
    budget_text,
    canonical_json,
    check_number_list,
    fail_at_first,
    number_or_none,
)
from benchmark.store.run_directory import RunDirectory
from benchmark.store.torn_repeats import RepeatFields, WholeRepeats, whole_repeats

_logger = logging.getLogger(__name__)

UNTRAINED = "untrained"
"""The ``loss`` of the baseline rows: the untrained networks every loss starts from."""
UNTRAINED_DISPLAY = "no training"

COLUMNS = [
    "dataset",
    "protocol",
    "loss",
    "display",
    "repeat",
    "mode",
    "dim",
    "metric",
    "value",
    "params",
    "params_source",
    "n_trials",
    "seeds",
    "best_iterations",
    "best_epochs",
    "ablation",
    "ablation_value",
    "code_version",
]
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
MODE_SINGLE, MODE_SEPARATED, MODE_CONCATENATED = "single", "separated", "concatenated"
MODES = (MODE_SINGLE, MODE_SEPARATED, MODE_CONCATENATED)
"""A result's ``mode``: one model, the folds' models' mean, or their embeddings joined."""
MAP_AT_R, PRECISION_AT_1, R_PRECISION = "map_at_r", "precision_at_1", "r_precision"
METRIC_NAMES = (MAP_AT_R, PRECISION_AT_1, R_PRECISION)
"""A result's ``metric`` (engine.retrieval_metrics's names; traditional adds recall_at_<K>)."""
ORIGIN = "origin"
"""A column the reader adds: the file each row came from (for error messages)."""
SEARCHED = "search"
"""The ``params_source`` of rows whose parameters a study chose (their ``n_trials`` is its
budget)."""
# Columns an older file may lack, read as empty (unknown, or the default below).
_OPTIONAL_TEXT_COLUMNS = ("display", "params_source", "n_trials", "ablation", "ablation_value")
_REPEAT_FIELDS = RepeatFields(
    repeat=("loss", "repeat", "ablation_value"),
    group=("dataset", "protocol", "ablation", "ablation_value"),
    evaluation=("mode", "dim", "metric"),
)


def result_rows(
    config: ProtocolConfig,
    loss: str,
    display: str,
    repeat: int,
    mode: str,
    dim: int,
    metrics: dict[str, float],
    **details: Any,
) -> list[dict[str, Any]]:
    """One row per metric of one evaluation; ``details`` fill the remaining columns."""
    unknown = set(details) - set(COLUMNS)
    if unknown:
        raise ValueError(f"unknown result columns {sorted(unknown)}")
    return [
        {
            "dataset": config.dataset,
            "protocol": config.name,
            "loss": loss,
            "display": display,
            "repeat": repeat,
            "mode": mode,
            "dim": int(dim),
            "metric": metric,
            "value": float(value),
            **details,
        }
        for metric, value in metrics.items()
    ]


class ResultsFile:
    """The ``results.csv`` of a run directory; safe for concurrent writers (a file lock)."""

    def __init__(self, run_dir: RunDirectory):
        self.path = run_dir.results_path
        self.lock_path = run_dir.lock_path("results")

    def read(self) -> pd.DataFrame:
        """The rows, checked and completed (:func:`normalize_rows`); none yet: no rows. A torn
        row is refused (:class:`ResultsError`)."""
        if not self.path.is_file():
            return normalize_rows(pd.DataFrame(columns=COLUMNS), str(self.path))
        return read_results_csv(self.path)

    def completed_repeats_by_loss(self, n_trials: int | None = None) -> dict[str, set[int]]:
        """The whole repeats in the file of every loss, from one read (``{loss: {0, 1}}``);
        a repeat a tear touched is not among them (nothing is written). With ``n_trials``, a
        searched repeat counts only if its parameters were chosen under that budget."""
        rows = normalize_rows(self._whole_repeats().rows, str(self.path))
        if n_trials is not None:
            rows = rows[(rows["params_source"] != SEARCHED) | (rows["n_trials"] == str(n_trials))]
        repeats: dict[str, set[int]] = {}
        for loss, repeat in zip(rows["loss"], rows["repeat"], strict=True):
            repeats.setdefault(str(loss), set()).add(int(repeat))
        return repeats

    def missing_repeats(
        self, config: ProtocolConfig, losses: Iterable[str]
    ) -> dict[str, list[int]]:
        """loss -> the repeats of ``config.retrain.repeats`` still to retrain, from one read: not
        whole in the file, or searched under another budget than ``config``'s (a raised
        ``study.n_trials`` retrains them)."""
        done = self.completed_repeats_by_loss(config.study.search_budget)
        every = range(config.retrain.repeats)
        return {loss: [r for r in every if r not in done.get(loss, set())] for loss in losses}

    def append(self, rows: list[dict[str, Any]]) -> int:
        """Add rows; the rows of a (loss, repeat, ablation setting) already present are not
        written twice. Returns the number of rows added. Rows already in the file are written
        back as they were read, character for character (a torn file is repaired first)."""
        new = pd.DataFrame.from_records([_encode(row) for row in rows], columns=COLUMNS)
        with file_lock(self.lock_path):
            old = self._repaired()
            done = set(_keys(old))
            keep = [key not in done for key in _keys(new)]
            if not any(keep):
                return 0
            combined = pd.concat([old, new[keep]], ignore_index=True) if len(old) else new[keep]
            atomic_write_text(self.path, combined.to_csv(index=False))
            return int(sum(keep))

    def repair(self) -> int:
        """Drop the torn rows and every row of the repeats they belong to (one warning says
        which), so that the stages compute those repeats again; returns the rows dropped."""
        with file_lock(self.lock_path):
            reading = self._whole_repeats()
            self._write_repaired(reading)
            return reading.rows_dropped + len(reading.records.torn)

    def drop_repeats(self, loss: str, repeats: set[int], ablation_value: str = "") -> int:
        """Remove the rows of ``loss``'s ``repeats`` (of one ablation setting: its JSON, as
        written); returns how many."""
        with file_lock(self.lock_path):
            rows = self._repaired()
            chosen = _of_repeats(rows, loss, repeats, ablation_value)
            if chosen.any():
                atomic_write_text(self.path, rows[~chosen].to_csv(index=False))
            return int(chosen.sum())

    def record_budget(self, loss: str, repeats: set[int], n_trials: int) -> int:
        """Set ``n_trials`` of ``loss``'s ``repeats`` (their parameters are those the study
        chooses under that budget too); returns the rows changed."""
        with file_lock(self.lock_path):
            rows = self._repaired()
            if "n_trials" not in rows:
                rows["n_trials"] = ""
            chosen = _of_repeats(rows, loss, repeats) & (rows["n_trials"] != str(n_trials))
            if chosen.any():
                rows.loc[chosen, "n_trials"] = str(n_trials)
                atomic_write_text(self.path, rows.to_csv(index=False))
            return int(chosen.sum())

    def _whole_repeats(self) -> WholeRepeats:
        """The file's rows as written (text) without the repeats a tear touched; anything
        else malformed raises (such a file is never rewritten)."""
        text = _read_text(self.path) if self.path.is_file() else ""
        records = split_torn_csv(text)
        rows = _parse(records.whole_text, self.path) if records.header else _no_rows()
        normalize_rows(rows, str(self.path))
        return whole_repeats(rows, records, _REPEAT_FIELDS)

    def _repaired(self) -> pd.DataFrame:
        """The rows as written, the file rewritten without its torn repeats if it had any
        (the caller holds the lock)."""
        return self._write_repaired(self._whole_repeats())

    def _write_repaired(self, reading: WholeRepeats) -> pd.DataFrame:
        rows = reading.rows
        if reading.damaged:
            atomic_write_text(self.path, rows.to_csv(index=False))
            _logger.warning(reading.warning(self.path))
        return rows if len(rows) else _no_rows()


def read_results_csv(path: Path) -> pd.DataFrame:
    """The rows of one results CSV, checked and completed with defaults (see normalize_rows);
    a torn or short row is refused with one line naming it."""
    text = _read_text(path)
    records = split_torn_csv(text)
    if records.torn:
        raise ResultsError(
            f"{path}, {records.torn[0].describe()}: a torn row (a write was cut short); run "
            "`mlrc run` or `mlrc retrain` on its run directory to repair the file (its "
            "incomplete repeat is dropped and computed again), or delete that row"
        )
    return normalize_rows(_parse(text, path), str(path))


def normalize_rows(rows: pd.DataFrame, origin: str = "results rows") -> pd.DataFrame:
    """Check the required columns and types; fill the columns old files lack.

    Defaults: ``display`` = the loss's table label, ``params_source`` = ``search`` (``none``
    for the untrained baseline), ``ablation`` and ``ablation_value`` empty (the latter is made
    canonical JSON), ``n_trials`` and ``best_epochs`` empty (unknown). Idempotent.
    """
    missing = [column for column in REQUIRED_COLUMNS if column not in rows.columns]
    if missing:
        raise ResultsError(
            f"{origin}: missing column(s) {', '.join(missing)}; a results file has the columns "
            f"{', '.join(REQUIRED_COLUMNS)} (and more), as `mlrc run` and `mlrc retrain` write them"
        )
    rows = rows.copy()
    for column in (*_OPTIONAL_TEXT_COLUMNS, "best_epochs"):
        if column not in rows.columns:
            rows[column] = ""
        rows[column] = rows[column].astype(object).where(rows[column].notna(), "").astype(str)
    for column in REQUIRED_COLUMNS:
        if column not in ("repeat", "dim", "value"):
            rows[column] = rows[column].astype(str)
    for column in ("repeat", "dim"):
        numbers = pd.to_numeric(rows[column], errors="coerce")
        fail_at_first(
            ~np.isfinite(numbers) | (numbers % 1 != 0), origin, rows[column], column, "integer"
        )
        rows[column] = numbers.astype("int64")
    # A value may be non-finite (NaN, inf, empty: a diverged evaluation, say): such rows are
    # kept here and left out of the statistics by ``finite_rows``. Text is an error.
    values = [number_or_none(text) for text in rows["value"]]
    fail_at_first(pd.Series([v is None for v in values]), origin, rows["value"], "value", "number")
    rows["value"] = np.asarray(values, dtype=np.float64)
    untrained = rows["loss"] == UNTRAINED
    no_display = rows["display"] == ""
    rows.loc[no_display, "display"] = rows.loc[no_display, "loss"].map(display_of)
    rows.loc[(rows["params_source"] == "") & untrained, "params_source"] = "none"
    rows.loc[rows["params_source"] == "", "params_source"] = "search"
    rows["ablation_value"] = [
        canonical_json(text, origin, i) for i, text in enumerate(rows["ablation_value"])
    ]
    for i, text in enumerate(rows["best_epochs"]):
        check_number_list(text, origin, i)
    rows["n_trials"] = [budget_text(text, origin, i) for i, text in enumerate(rows["n_trials"])]
    if ORIGIN not in rows.columns:
        rows[ORIGIN] = origin
    check_unique(rows)
    return rows


def finite_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows whose ``value`` is finite. The others (NaN, inf: a result that does not exist)
    are dropped with one warning that names each of them, so that a table counts the cell's
    repeats without them (and says its reduced n) instead of failing or averaging a NaN."""
    finite = np.isfinite(rows["value"].to_numpy(dtype=np.float64))
    if finite.all():
        return rows
    dropped = rows[~finite]
    named = "; ".join(_describe_row(row) for _, row in dropped.iterrows())
    _logger.warning(
        "%d result row(s) with a non-finite value left out of the statistics: %s",
        len(dropped),
        named,
    )
    return rows[finite]


def display_of(loss: str) -> str:
    """The table label of ``loss`` for rows without a ``display``: its registration's, the
    baseline's, else the name itself (a loss whose plugin is not loaded)."""
    if loss == UNTRAINED:
        return UNTRAINED_DISPLAY
    from benchmark.losses import get_loss_spec  # the loss registry loads torch: only if asked

    try:
        return get_loss_spec(loss).display
    except UnknownLossError:
        return loss


def check_unique(rows: pd.DataFrame) -> None:
    """A result (:data:`ROW_KEY`) present twice is an error naming where, never a mean."""
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


def _describe_row(row: pd.Series) -> str:
    """One row as a reader finds it again: its key, its value and the file it came from."""
    what = ", ".join(f"{key}={row[key]}" for key in ROW_KEY if key in row and str(row[key]) != "")
    where = f" in {row[ORIGIN]}" if ORIGIN in row else ""
    return f"({what}, value={row['value']}){where}"


def _read_text(path: Path) -> str:
    return read_text_checked(path, "results CSV")


def _parse(text: str, path: Path) -> pd.DataFrame:
    """The rows of a results CSV's text, as written (every field text)."""
    return read_csv_checked(path, "results CSV", text, dtype=str, keep_default_na=False)


def _no_rows() -> pd.DataFrame:
    return pd.DataFrame(columns=COLUMNS)


def _of_repeats(
    rows: pd.DataFrame, loss: str, repeats: set[int], ablation_value: str = ""
) -> pd.Series:
    """The rows (as written) of ``loss``'s ``repeats`` at one ablation setting (none)."""
    wanted = {str(repeat) for repeat in repeats}
    setting = rows.get("ablation_value", "") == ablation_value
    return (rows["loss"] == loss) & rows["repeat"].astype(str).isin(wanted) & setting


def _keys(rows: pd.DataFrame) -> list[tuple[str, int, str]]:
    """(loss, repeat, ablation setting) of each row: a repeat is written once per setting."""
    settings = rows["ablation_value"].astype(object).where(rows["ablation_value"].notna(), "")
    return list(zip(rows["loss"], rows["repeat"].astype(int), settings.astype(str), strict=True))


def _encode(row: dict[str, Any]) -> dict[str, Any]:
    return {
        key: json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value
        for key, value in row.items()
    }
