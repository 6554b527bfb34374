"""A rendered-format-neutral table: labels, formatted cells with their emphasis, and notes.

Builders fill a :class:`Table` from the summary frame; the Markdown and LaTeX renderers only
lay it out, and the CSV is the table's tidy ``frame``. So the three files cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import pandas as pd


class Emphasis(Enum):
    NONE = "none"
    BEST = "best"  # bold
    NOT_WORSE = "not_worse"  # not significantly worse than the best: underlined (md: italic)


@dataclass(frozen=True)
class Cell:
    """One formatted cell; ``text`` None is a missing result ("—" / ``---``).

    Text is plain Unicode ("12.34 ± 0.56"); the LaTeX renderer translates ± and ×. ``mark``
    qualifies the value without being part of it (``n=9``: a cell over fewer repeats than its
    column's): Markdown shows it in parentheses after the value, LaTeX as a superscript.
    """

    text: str | None
    emphasis: Emphasis = Emphasis.NONE
    mark: str = ""


MISSING = Cell(None)


@dataclass(frozen=True)
class Note:
    """A footnote, phrased for each format (emphasis is named differently in md and tex)."""

    markdown: str
    latex: str


@dataclass
class Table:
    """Rows x columns of cells; columns may be grouped (one header over several columns)."""

    title: str
    row_header: str
    row_labels: list[str]
    column_labels: list[str]
    cells: list[list[Cell]]
    column_groups: list[str] = field(default_factory=list)  # one per column, or empty
    notes: list[Note] = field(default_factory=list)
    label: str = ""  # LaTeX \label

    def __post_init__(self) -> None:
        if len(self.cells) != len(self.row_labels) or any(
            len(row) != len(self.column_labels) for row in self.cells
        ):
            raise ValueError("a table needs one cell per (row, column)")
        if self.column_groups and len(self.column_groups) != len(self.column_labels):
            raise ValueError("column_groups needs one group per column")

    @property
    def shows_groups(self) -> bool:
        """Column groups are shown only when there are several (one is said in the title)."""
        return len(set(self.column_groups)) > 1


@dataclass
class TableDocument:
    """What one ``<stem>.{md,tex,csv}`` triple holds: tables and their tidy frame."""

    stem: str
    tables: list[Table]
    frame: pd.DataFrame
