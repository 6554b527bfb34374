"""Tidy result rows, appended atomically to ``results.csv`` in the run directory.

One row per (dataset, protocol, loss, repeat, mode, metric); tables, figures and statistics are
pure functions of these rows. The columns:

- ``dataset``, ``protocol``, ``loss`` (registry name, ``untrained`` for the baseline),
  ``display`` (the table label), ``repeat``;
- ``mode``: ``separated`` (mean of the fold models' metrics), ``concatenated`` (the fold
  embeddings normalised and concatenated) or ``single`` (one model per repeat); ``dim``;
- ``metric``, ``value``;
- ``params`` (JSON), ``params_source`` (``search``, ``protocol``, ``none`` or the name of a
  published configuration), ``seeds``, ``best_iterations``, ``best_epochs`` (JSON lists, one
  entry per model), ``ablation`` and ``ablation_value`` (empty, or the ablation's name and a
  JSON object of the ablated settings), ``code_version``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.config import ProtocolConfig
from benchmark.io import atomic_write_text, file_lock

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
    "seeds",
    "best_iterations",
    "best_epochs",
    "ablation",
    "ablation_value",
    "code_version",
]


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
    """The results CSV of a run directory; safe for concurrent writers (file lock)."""

    def __init__(self, path: Path, lock_path: Path):
        self.path = path
        self.lock_path = lock_path

    def read(self) -> pd.DataFrame:
        if not self.path.is_file():
            return pd.DataFrame(columns=COLUMNS)
        return pd.read_csv(self.path)

    def completed_repeats(self, loss: str) -> set[int]:
        return self.completed_repeats_by_loss().get(loss, set())

    def completed_repeats_by_loss(self) -> dict[str, set[int]]:
        """The repeats in the file of every loss, from one read (``{loss: {0, 1}}``)."""
        rows = self.read()
        repeats: dict[str, set[int]] = {}
        for loss, repeat in zip(rows["loss"], rows["repeat"].astype(int), strict=True):
            repeats.setdefault(str(loss), set()).add(int(repeat))
        return repeats

    def append(self, rows: list[dict[str, Any]]) -> int:
        """Add rows; the rows of a (loss, repeat, ablation setting) already present are not
        written twice. Returns the number of rows added."""
        new = pd.DataFrame.from_records([_encode(row) for row in rows], columns=COLUMNS)
        with file_lock(self.lock_path):
            old = self.read()
            done = set(_keys(old))
            keep = [key not in done for key in _keys(new)]
            if not any(keep):
                return 0
            combined = pd.concat([old, new[keep]], ignore_index=True) if len(old) else new[keep]
            atomic_write_text(self.path, combined.to_csv(index=False))
            return int(sum(keep))


def _keys(rows: pd.DataFrame) -> list[tuple[str, int, str]]:
    """(loss, repeat, ablation setting) of each row: a repeat is written once per setting."""
    settings = rows["ablation_value"].astype(object).where(rows["ablation_value"].notna(), "")
    return list(zip(rows["loss"], rows["repeat"].astype(int), settings.astype(str), strict=True))


def _encode(row: dict[str, Any]) -> dict[str, Any]:
    return {
        key: json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value
        for key, value in row.items()
    }
