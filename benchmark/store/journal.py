"""The journal file of a study storage, written so that it cannot be torn.

Optuna's journal is one JSON operation per line, appended by every process that shares the
study. Optuna's own file backend stops reading at a line it cannot parse, so one line left
half-written (a writer killed mid-append, a full disk, a crashed NFS client) followed by one more
append made the whole storage unreadable. :class:`JournalFile` keeps the same file format and:

- appends under a lock that is never broken while its holder lives (:func:`~benchmark.io.file_lock`);
- before appending, cuts off an unfinished last line left by a writer that died (nobody else
  can be writing while the lock is held), with one warning naming what was lost;
- rolls a failed append back (no space left, I/O error) and raises :class:`JournalWriteError`,
  so a full filesystem leaves no torn line behind;
- skips, with one warning each, lines it cannot parse (files written by other tools or
  versions), keeping an operation that was appended right after a torn one.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from optuna.storages.journal import BaseJournalBackend

from benchmark.errors import StorageError
from benchmark.io import file_lock

_logger = logging.getLogger(__name__)

# Every operation Optuna writes is a JSON object that starts with its op code.
_OPERATION_START = b'{"op_code":'
_SHOWN_BYTES = 120


class JournalWriteError(StorageError):
    """An append to the journal failed (and was rolled back): e.g. no space left."""


class JournalFile(BaseJournalBackend):
    """A journal file shared by processes on one machine or on a filesystem with working locks.

    Log numbers count the operations read, not the lines of the file, so a skipped line never
    shifts the operations after it; every process skips the same lines and agrees on the study.
    """

    def __init__(self, path: Path, lock_path: Path | None = None):
        self.path = Path(path)
        # Not <journal>.lock: that is where Optuna's own file backend (optuna-dashboard, a
        # user's script) puts its lock, and it breaks a lock file it finds there after 30 s.
        self.lock_path = lock_path or self.path.with_name(self.path.name + ".mlrc.lock")
        if not self.path.is_file():  # an existing one is only read until something is appended
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch(exist_ok=True)
        self._offsets: dict[int, int] = {0: 0}
        """Operations read -> the byte offset after them, to resume reading there."""
        self._warned: set[int] = set()

    # -- reading --------------------------------------------------------------------------------

    def read_logs(self, log_number_from: int) -> Iterator[dict[str, Any]]:
        known = max(n for n in self._offsets if n <= log_number_from)
        number, offset = known, self._offsets[known]
        with open(self.path, "rb") as handle:
            handle.seek(offset)
            size = os.fstat(handle.fileno()).st_size  # what was written before this read began
            for line in handle:
                if offset + len(line) > size or not line.endswith(b"\n"):
                    break  # being appended right now (or torn: the next writer repairs it)
                start, offset = offset, offset + len(line)
                operation = self._parse(line, start)
                if operation is None:
                    self._offsets[number] = offset
                    continue
                number += 1
                self._offsets[number] = offset
                if number > log_number_from:
                    yield operation

    def _parse(self, line: bytes, start: int) -> dict[str, Any] | None:
        try:
            operation = json.loads(line)
            if isinstance(operation, dict):
                return operation
        except (json.JSONDecodeError, UnicodeDecodeError):
            pass
        # A torn operation followed on the same line by a whole one (an append that did not
        # first repair the tear): keep the whole one.
        cut = line.rfind(_OPERATION_START, 1)
        kept = None
        if cut > 0:
            try:
                kept = json.loads(line[cut:])
            except (json.JSONDecodeError, UnicodeDecodeError):
                kept = None
        lost = line[:cut] if isinstance(kept, dict) else line.rstrip(b"\n")
        if start not in self._warned:
            self._warned.add(start)
            after = "; the operation appended after it is kept" if isinstance(kept, dict) else ""
            _logger.warning(
                "journal %s: skipped %d bytes at byte %d that are not a whole operation (a "
                "writer died mid-append): %s%s",
                self.path,
                len(lost),
                start,
                _shown(lost),
                after,
            )
        return kept if isinstance(kept, dict) else None

    # -- writing --------------------------------------------------------------------------------

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        data = b"".join(json.dumps(log, separators=(",", ":")).encode() + b"\n" for log in logs)
        with file_lock(self.lock_path):
            fd = os.open(self.path, os.O_RDWR)
            try:
                end = self._repair_tail(fd)
                try:
                    _write_all(fd, data, end)
                    os.fsync(fd)
                except OSError as exc:
                    _roll_back(fd, end)
                    raise JournalWriteError(
                        f"cannot write to the journal {self.path}: {exc.strerror or exc} (the "
                        "operation was rolled back, nothing is torn)"
                    ) from None
            finally:
                os.close(fd)

    def _repair_tail(self, fd: int) -> int:
        """Cut an unfinished last line (its writer died: we hold the lock); returns the end."""
        size = os.fstat(fd).st_size
        if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
            return size
        chunk = 1 << 16
        end = size
        while end > 0:
            start = max(end - chunk, 0)
            newline = os.pread(fd, end - start, start).rfind(b"\n")
            if newline >= 0:
                end = start + newline + 1
                break
            end = start
        torn = os.pread(fd, min(size - end, 4096), end)
        os.ftruncate(fd, end)
        os.fsync(fd)
        _logger.warning(
            "journal %s: removed an unfinished operation of %d bytes at its end (its writer "
            "died mid-append, so it never happened): %s",
            self.path,
            size - end,
            _shown(torn),
        )
        return end


def _write_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _roll_back(fd: int, end: int) -> None:
    try:
        os.ftruncate(fd, end)
        os.fsync(fd)
    except OSError:
        pass  # the next append repairs the tail


def _shown(data: bytes) -> str:
    text = data[:_SHOWN_BYTES].decode(errors="replace")
    return repr(text + ("..." if len(data) > _SHOWN_BYTES else ""))
