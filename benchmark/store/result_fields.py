"""The checks of a results file's fields (each bad field fails with one line naming its row),
and reading a field's JSON text.

:func:`benchmark.store.results_file.normalize_rows` applies them; ``origin`` names the file (or
the rows) and ``index`` the row's position, shown as its line (the header is line 1).
"""

from __future__ import annotations

import json
import math

import pandas as pd

from benchmark.errors import ResultsError
from benchmark.io import first_bad_row


def number_or_none(text: object) -> float | None:
    """A number as read from the file (NaN for an empty field), None for text."""
    if isinstance(text, int | float):
        return float(text)
    text = str(text).strip()
    if text == "":
        return math.nan
    try:
        return float(text)
    except ValueError:
        return None


def fail_at_first(bad: pd.Series, origin: str, shown: pd.Series, column: str, kind: str) -> None:
    """Raise for the first row where ``bad`` holds: ``column`` must be a ``kind``."""
    index = first_bad_row(bad)
    if index is not None:
        finite = "a finite integer" if kind == "integer" else "a number"
        raise ResultsError(
            f"{origin}, line {index + 2}: column '{column}' must be {finite}, not "
            f"{shown.iloc[index]!r}; fix or delete that row"
        )


def canonical_json(text: str, origin: str, index: int) -> str:
    """An ``ablation_value`` as canonical JSON (sorted keys); empty stays empty."""
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


def check_number_list(text: str, origin: str, index: int) -> None:
    """A ``best_epochs`` field: empty or a JSON list of numbers."""
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


def budget_text(text: str, origin: str, index: int) -> str:
    """An ``n_trials`` field: empty (unknown, or nothing searched) or a whole number >= 1."""
    text = text.strip()
    if text and not (text.isdigit() and int(text) >= 1):
        raise ResultsError(
            f"{origin}, line {index + 2}: n_trials must be empty or a whole number of trials "
            f"such as 50, not {text!r}"
        )
    return str(int(text)) if text else ""


def ablation_settings(ablation_value: str) -> dict[str, object]:
    """The ablated settings of a row (``{}`` for a normal row)."""
    return json.loads(ablation_value) if ablation_value else {}


def best_epoch_of(best_epochs: str) -> float | None:
    """The early-stopped epoch of a row: the mean over its fold models, None when unknown."""
    if not best_epochs:
        return None
    epochs = json.loads(best_epochs)
    return sum(epochs) / len(epochs) if epochs else None
