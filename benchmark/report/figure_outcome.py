"""What making a figure produced: a file, or the reason it was skipped (shown in the listing)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FigureOutcome:
    """``path`` when written; otherwise ``skipped`` says which figure and why."""

    path: Path | None = None
    skipped: str = ""

    @classmethod
    def skip(cls, reason: str) -> FigureOutcome:
        return cls(None, reason)
