"""The sources ``mlrc tables`` reads, and their rows merged.

A source is a run directory (``results.csv`` and, maybe, ``run.json``, learning curves and an
Optuna journal), a folder holding a ``results.csv`` (like ``results/example/``), or a results CSV
file. Reading and checking the rows is :mod:`benchmark.store.results_file`' job; here they are merged,
and a result present in two sources is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from benchmark.errors import ResultsError
from benchmark.store.results_file import (
    REQUIRED_COLUMNS,
    check_unique,
    normalize_rows,
    read_results_csv,
)
from benchmark.store.run_directory import RunDirectory


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
        run_dir = RunDirectory(path)
        if not run_dir.results_path.is_file():
            raise ResultsError(
                f"{path} holds no results.csv; pass a run directory made by `mlrc run` (after "
                "its retrain stage), a folder holding a results.csv, or a results CSV file"
            )
        manifest = run_dir.load_plugins() if run_dir.exists() else {}  # their labels too
        return ResultsSource(path, read_results_csv(run_dir.results_path), manifest)
    if path.is_file():
        return ResultsSource(None, read_results_csv(path))
    raise ResultsError(f"{path} does not exist; pass a run directory or a results CSV file")


def merge_rows(sources: list[ResultsSource]) -> pd.DataFrame:
    """The rows of every source; a result present in two sources is an error, not a mean."""
    frames = [source.rows for source in sources if len(source.rows)]
    if not frames:
        return normalize_rows(pd.DataFrame(columns=list(REQUIRED_COLUMNS)))
    merged = pd.concat(frames, ignore_index=True)
    check_unique(merged)
    return merged


def run_identity(rows: pd.DataFrame) -> tuple[str, str] | None:
    """``(protocol, dataset)`` of rows from one protocol and dataset, else None."""
    protocols, datasets = rows["protocol"].unique(), rows["dataset"].unique()
    if len(protocols) == 1 and len(datasets) == 1:
        return str(protocols[0]), str(datasets[0])
    return None
