"""File helpers every stage shares: atomic writes, an inter-process lock, checked CSV reading.

A reader (or a kill at any instant) never sees a partial file, and parallel processes on one
machine or on a shared filesystem serialise their read-modify-write cycles with :func:`file_lock`.

The lock is a POSIX record lock (``fcntl``) held by the process: the kernel releases it when the
holder exits or dies, and nothing else ever breaks it, however long the holder works. On NFS the
client forwards it to the server (NLM for NFSv3, the protocol's own locks for NFSv4), which
releases the locks of a node that crashed once its lease expires; so it needs a mount with
working locks (the default; not ``nolock`` or ``local_lock=all``).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import io
import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.errors import ResultsError

if TYPE_CHECKING:  # imported where used: the CLI starts without them
    import numpy as np
    import pandas as pd


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
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno is not None:
            # Name the file meant, not its temporary name (an OSError without an errno keeps its
            # message: setting a filename would turn it into "[Errno None] None: ...").
            exc.filename = str(path)
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
    import torch

    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def atomic_np_save(path: Path, array: np.ndarray) -> None:
    """``np.save(path, array)``, written atomically (and to ``path`` exactly: no ``.npy`` added)."""
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, array)
    atomic_write_bytes(path, buffer.getvalue())


class LockTimeout(TimeoutError):
    """:func:`file_lock` gave up waiting: another process holds the lock."""


class _ThreadSlot:
    """The lock of one path within this process: POSIX locks belong to the process, so its
    threads take turns here first (and a thread that holds the lock may take it again)."""

    def __init__(self) -> None:
        self.mutex = threading.Lock()
        self.owner: int | None = None
        self.depth = 0
        self.fd = -1


_SLOTS: dict[str, _ThreadSlot] = {}
_SLOTS_GUARD = threading.Lock()


def _slot(path: Path) -> _ThreadSlot:
    key = os.path.realpath(path)
    with _SLOTS_GUARD:
        return _SLOTS.setdefault(key, _ThreadSlot())


@contextlib.contextmanager
def file_lock(path: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the inter-process lock ``path`` (created with its folder if missing).

    Waits for the holder to release it (or to die) for ever, or at most ``timeout`` seconds
    (``0``: one try), then raises :class:`LockTimeout`. Nested use in one thread is allowed.
    The lock file stays in place: deleting a lock file is what breaks such locks.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    slot = _slot(path)
    me = threading.get_ident()
    if slot.owner == me:
        slot.depth += 1
        try:
            yield
        finally:
            slot.depth -= 1
        return
    deadline = None if timeout is None else time.monotonic() + timeout
    if not slot.mutex.acquire(timeout=-1 if timeout is None else max(timeout, 0)):
        raise LockTimeout(f"{path} is held by another thread of this process")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _lock_fd(fd, path, deadline)
            slot.owner, slot.depth, slot.fd = me, 1, fd
            try:
                yield
            finally:
                slot.owner, slot.depth, slot.fd = None, 0, -1
        finally:
            os.close(fd)  # releases the record lock
    finally:
        slot.mutex.release()


def _lock_fd(fd: int, path: Path, deadline: float | None) -> None:
    if deadline is None:
        fcntl.lockf(fd, fcntl.LOCK_EX)
        return
    pause = 0.005
    while True:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EAGAIN):
                raise
        if time.monotonic() >= deadline:
            raise LockTimeout(f"{path} is held by another process")
        time.sleep(min(pause, max(deadline - time.monotonic(), 0)))
        pause = min(pause * 2, 0.5)


def write_lock_note(path: Path, note: str) -> None:
    """Record who holds the lock ``path`` (call while holding it), for :func:`read_lock_note`."""
    slot = _slot(path)
    if slot.owner != threading.get_ident():
        raise RuntimeError(f"write_lock_note: this thread does not hold {path}")
    os.ftruncate(slot.fd, 0)
    os.pwrite(slot.fd, note.encode(), 0)


def read_lock_note(path: Path) -> str:
    """What the holder of ``path`` wrote with :func:`write_lock_note` ("" if nothing). Never call
    it from the process holding the lock: closing any descriptor of a lock file releases a POSIX
    lock of its process."""
    if _slot(path).owner is not None:
        return f"pid {os.getpid()} (this process)"
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return ""


def read_text_checked(path: Path, what: str) -> str:
    """The text of ``path``; one that is not UTF-8 is a ResultsError naming it as ``what``."""
    try:
        return path.read_text()
    except UnicodeDecodeError as exc:
        raise ResultsError(f"{path} is not a readable {what} (not UTF-8: {exc.reason})") from None


def read_csv_checked(path: Path, what: str, text: str | None = None, **kwargs: Any) -> pd.DataFrame:
    """``pd.read_csv(path, **kwargs)`` (of ``text`` when given, read from ``path``); a file it
    cannot parse is a ResultsError naming it as ``what`` (e.g. "results CSV") with the first
    line of the parser's reason."""
    import pandas as pd

    try:
        return pd.read_csv(path if text is None else io.StringIO(text), **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ResultsError(f"{path} is not a readable {what} ({reason})") from None


@dataclass(frozen=True)
class TornRecord:
    """A CSV record cut short (a writer died mid-append, a copy was cut) or run on."""

    line: int
    """Its first line in the file (from 1, the header being line 1)."""
    fields: list[str]
    """The fields read; the last one may itself be cut."""
    expected: int
    """The header's number of fields."""
    ended: bool
    """Whether its line ends (a cut record usually does not)."""

    def describe(self) -> str:
        """``line 7: 9 of 17 fields, no line end``."""
        ending = "" if self.ended else ", no line end"
        return f"line {self.line}: {len(self.fields)} of {self.expected} fields{ending}"


@dataclass(frozen=True)
class CsvRecords:
    """A CSV file split into its whole part and its torn records."""

    header: list[str]
    whole_text: str
    """The header and every whole record, as written (character for character)."""
    torn: list[TornRecord]
    whole_before_torn: list[int]
    """For each torn record, how many whole records precede it."""


def split_torn_csv(text: str) -> CsvRecords:
    """Split ``text`` into its whole records and those torn: a record is whole when it has the
    header's number of fields and its line ends. Files written whole always end with a line
    end, so a cut anywhere in the last record (even inside its last field) is found. A header
    that does not end is torn too (``header`` is then empty). Blank lines are kept as they are.
    """
    lines_read: list[str] = []

    def lines() -> Iterator[str]:
        for line in io.StringIO(text, newline=""):
            lines_read.append(line)
            yield line

    reader = csv.reader(lines())
    header = next(reader, [])
    header_text = "".join(lines_read)
    if not header_text.endswith(("\n", "\r")):
        torn = [TornRecord(1, header, len(header), False)] if header_text else []
        return CsvRecords([], "", torn, [0] * len(torn))
    whole, torn, before = [header_text], [], []
    line, whole_count = 1 + header_text.count("\n"), 0
    del lines_read[:]
    for record in reader:
        raw = "".join(lines_read)
        del lines_read[:]
        ended = raw.endswith(("\n", "\r"))
        if record and (len(record) != len(header) or not ended):
            torn.append(TornRecord(line, record, len(header), ended))
            before.append(whole_count)
        else:
            whole.append(raw)
            whole_count += bool(record)
        line += max(raw.count("\n"), 1)
    return CsvRecords(header, "".join(whole), torn, before)


def first_bad_row(bad: pd.Series) -> int | None:
    """The position of the first True in ``bad``, None if none; its line in the file is the
    position + 2 (the header, and lines count from 1)."""
    positions = bad.to_numpy().nonzero()[0]
    return int(positions[0]) if len(positions) else None


@contextlib.contextmanager
def kept_or_temporary_dir(keep: Path | None, prefix: str) -> Iterator[Path]:
    """``keep`` (created, left in place), or a temporary folder removed on exit."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as temporary:
        yield Path(temporary)


# -- filesystem outages -------------------------------------------------------------------------

FILESYSTEM_OUTAGES = {
    errno.ENOSPC: "free space on its filesystem",
    errno.EDQUOT: "free space or raise your quota on its filesystem",
    errno.EROFS: "remount its filesystem read-write, or choose a writable folder",
    errno.EIO: "check the disk or the network filesystem (dmesg names the device)",
}
"""The errors (errno -> the fix) that say the filesystem failed, not the code or the settings."""


def filesystem_outage(exc: BaseException) -> OSError | None:
    """The OSError of a full, read-only or failing filesystem among ``exc`` and the exceptions
    it was raised from or during (None when there is none)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not earlier for earlier in seen):
        if isinstance(current, OSError) and current.errno in FILESYSTEM_OUTAGES:
            return current
        seen.append(current)
        current = current.__cause__ or current.__context__
    return None


def describe_filesystem_outage(error: OSError, place: Path | None = None) -> str:
    """``<path>: <reason>; <fix>`` for :func:`filesystem_outage`'s error (``place`` names where
    it happened when the error names no file)."""
    path = error.filename if error.filename is not None else place
    where = f"cannot write {path}" if path is not None else "cannot write a file"
    reason = error.strerror or os.strerror(error.errno or 0)
    return f"{where}: {reason}; {FILESYSTEM_OUTAGES[error.errno or 0]}"
