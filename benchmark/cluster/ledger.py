"""The ledger of a run's Slurm jobs: ``<run_dir>/slurm/jobs.json``.

Each ``mlrc slurm submit`` appends one submission (its number, time, scripts folder and jobs);
``status`` and ``cancel`` read it, and a later submit reads it to not queue the same stage twice.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmark.io import atomic_write_json, file_lock
from benchmark.study.run_dir import RunDirectory


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
        return json.loads(self.path.read_text())["submissions"]

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
        return len(self.submissions()) + 1

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
