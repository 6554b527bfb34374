"""The ledger of a run's Slurm jobs: ``<run_dir>/slurm/jobs.json``.

Each ``mlrc slurm submit`` appends one submission (its number, time, scripts folder and jobs);
``status`` and ``cancel`` read it, and a later submit reads it to not queue the same stage twice.
One submit at a time works on a run (:meth:`Ledger.submitting`), so two submits never take the
same number or queue the same jobs twice.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmark.errors import SlurmError
from benchmark.io import LockTimeout, atomic_write_json, file_lock, read_lock_note, write_lock_note
from benchmark.store.run_directory import RunDirectory


@dataclass(frozen=True)
class LedgerEntry:
    """One submitted job."""

    key: str
    job_id: str
    stage: str
    loss: str | None
    script: str
    array: str | None
    dependency: str | None
    submission: int


class Ledger:
    """The jobs submitted for one run directory, oldest first."""

    def __init__(self, run_dir: RunDirectory | Path):
        self.run_dir = run_dir if isinstance(run_dir, RunDirectory) else RunDirectory(run_dir)
        self.path = self.run_dir.ledger_path
        self.lock_path = self.run_dir.ledger_lock_path

    def submissions(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        try:
            submissions = json.loads(self.path.read_text())["submissions"]
            _check_submissions(submissions)
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SlurmError(
                f"{self.path} is not a readable job ledger ({type(exc).__name__}: {reason}); "
                "restore it from a copy, or move it aside and cancel the run's jobs by hand "
                "(`squeue --me`), then submit again"
            ) from None
        return submissions

    def entries(self) -> list[LedgerEntry]:
        return [
            LedgerEntry(**job, submission=submission["number"])
            for submission in self.submissions()
            for job in submission["jobs"]
        ]

    def latest_by_key(self) -> dict[str, LedgerEntry]:
        """The most recent job of each key (``study-mfcwms``, ``tables``, ...)."""
        return {entry.key: entry for entry in self.entries()}

    def next_submission(self) -> int:
        return max((s["number"] for s in self.submissions()), default=0) + 1

    @contextlib.contextmanager
    def submitting(self) -> Iterator[int]:
        """Hold the run's submit lock while planning, submitting and recording one submission;
        yields its number. A second submit on the run meanwhile is refused with one line."""
        lock = self.run_dir.submit_lock_path
        with contextlib.ExitStack() as held:
            try:
                held.enter_context(file_lock(lock, timeout=0))
            except LockTimeout:
                raise SlurmError(
                    f"another `mlrc slurm submit` is at work on {self.run_dir.path} "
                    f"({read_lock_note(lock) or 'holder unknown'}); wait for it to end, then "
                    "submit again if needed (what it queued is not queued twice)"
                ) from None
            started = datetime.now(timezone.utc).isoformat(timespec="seconds")
            write_lock_note(lock, f"pid {os.getpid()} on {socket.gethostname()} since {started}")
            yield self.next_submission()

    def record(self, number: int, scripts_dir: Path, entry: LedgerEntry) -> None:
        """Add ``entry`` to submission ``number`` (written at once: a later failure keeps it;
        a lock keeps two submits from losing each other's jobs)."""
        job = asdict(entry)
        del job["submission"]
        with file_lock(self.lock_path):
            submissions = self.submissions()
            if not submissions or submissions[-1]["number"] != number:
                submissions.append(_new_submission(number, scripts_dir))
            submissions[-1]["jobs"].append(job)
            atomic_write_json(self.path, {"submissions": submissions})


def _new_submission(number: int, scripts_dir: Path) -> dict[str, Any]:
    return {
        "number": number,
        "submitted": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "scripts": str(scripts_dir),
        "jobs": [],
    }


_ENTRY_FIELDS = [f.name for f in dataclasses.fields(LedgerEntry) if f.name != "submission"]


def _check_submissions(submissions: Any) -> None:
    """Raise ValueError unless ``submissions`` has the ledger's shape."""
    if not isinstance(submissions, list):
        raise ValueError("'submissions' is not a list")
    for submission in submissions:
        if not isinstance(submission, dict) or not isinstance(submission.get("number"), int):
            raise ValueError(f"a submission without a number: {submission!r:.80}")
        jobs = submission.get("jobs")
        if not isinstance(jobs, list) or not all(
            isinstance(job, dict) and sorted(job) == sorted(_ENTRY_FIELDS) for job in jobs
        ):
            raise ValueError(f"submission {submission['number']} lists malformed jobs")
