"""File helpers every stage shares: atomic writes, an inter-process lock, checked CSV reading.

A reader (or a kill at any instant) never sees a partial file, and parallel processes on one
machine or on a shared filesystem serialise their read-modify-write cycles with :func:`file_lock`.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from optuna.storages.journal import JournalFileOpenLock

from benchmark.errors import ResultsError

STALE_LOCK_SECONDS = 30


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader (or a kill) never sees a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as handle:  # plain permissions (umask), unlike mkstemp's 0600
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def atomic_write_csv(
    path: Path,
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    lineterminator: str = "\r\n",
) -> None:
    """Write ``rows`` as CSV under a header of ``columns`` (other keys are left out), atomically.

    Lines end in ``lineterminator``, by default CRLF like the csv module's (and RFC 4180's).
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=columns, extrasaction="ignore", lineterminator=lineterminator
    )
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def atomic_torch_save(obj: Any, path: Path) -> None:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def atomic_np_save(path: Path, array: np.ndarray) -> None:
    """``np.save(path, array)``, written atomically (and to ``path`` exactly: no ``.npy`` added)."""
    buffer = io.BytesIO()
    np.save(buffer, array)
    atomic_write_bytes(path, buffer.getvalue())


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An inter-process lock that also works on NFS (a stale lock is broken after 30 s).

    It is Optuna's journal lock (an atomically created lock file), so it behaves like the
    default storage on every filesystem the storage works on.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = JournalFileOpenLock(str(path), grace_period=STALE_LOCK_SECONDS)
    lock.acquire()
    try:
        yield
    finally:
        lock.release()


_CSV_READ_ERRORS = (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError)


def read_csv_checked(path: Path, what: str, **kwargs: Any) -> pd.DataFrame:
    """``pd.read_csv(path, **kwargs)``; a file it cannot parse is a ResultsError naming it
    as ``what`` (e.g. "results CSV") with the first line of the parser's reason."""
    try:
        return pd.read_csv(path, **kwargs)
    except _CSV_READ_ERRORS as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ResultsError(f"{path} is not a readable {what} ({reason})") from None


def first_bad_row(bad: pd.Series) -> int | None:
    """The position of the first True in ``bad``, None if none; its line in the file is the
    position + 2 (the header, and lines count from 1)."""
    positions = bad.to_numpy().nonzero()[0]
    return int(positions[0]) if len(positions) else None
