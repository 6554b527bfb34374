"""Reading the CSV files users pass to ``mlrc tables``, with one clear error each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.errors import ResultsError

_READ_ERRORS = (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError)


def read_csv_checked(path: Path, what: str, **kwargs: Any) -> pd.DataFrame:
    """``pd.read_csv(path, **kwargs)``; a file it cannot parse is a ResultsError naming it
    as ``what`` (e.g. "results CSV") with the first line of the parser's reason."""
    try:
        return pd.read_csv(path, **kwargs)
    except _READ_ERRORS as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ResultsError(f"{path} is not a readable {what} ({reason})") from None


def first_bad_row(bad: pd.Series) -> int | None:
    """The position of the first True in ``bad``, None if none; its line in the file is the
    position + 2 (the header, and lines count from 1)."""
    positions = bad.to_numpy().nonzero()[0]
    return int(positions[0]) if len(positions) else None
