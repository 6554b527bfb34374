"""How a table is set in LaTeX so that a paper can ``\\input`` it: its type size, column
spacing, panels and float, chosen from an estimate of its printed width.

A table is set at the largest of ``\\small`` (9 pt), ``\\footnotesize`` (8 pt) and
``\\scriptsize`` (7 pt) at which it fits a one-column article's ``\\linewidth`` (345 pt, the
``article`` class at 10 pt). A table too wide even at 7 pt is cut between its column groups
into panels set one below the other (as the paper's Tables 2 and 3 split four datasets in
two); one without groups to cut goes on a page of its own, rotated (``sidewaystable``, where
the width is the text height, 550 pt). Never below 7 pt: ``\\resizebox`` only shrinks what the
estimate misjudged, by a few percent at most (the tests compile every table and check the
scale).

The estimate adds up character widths of the EC fonts (``\\usepackage[T1]{fontenc}``; Computer
Modern's are within 2%): a column is as wide as its widest entry, plus ``\\tabcolsep`` on each
side.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from benchmark.report.table_model import Emphasis, Table

ARTICLE_LINEWIDTH_PT = 345.0
"""``\\linewidth`` of a one-column ``article`` at 10 pt, the narrowest a paper prints."""
ROTATED_LINEWIDTH_PT = 550.0
"""``\\linewidth`` of a ``sidewaystable`` in that article: the text height."""
MIN_BODY_PT = 7.0


@dataclass(frozen=True)
class LatexLayout:
    """The type size of the table's body, its column spacing, whether it is rotated, and its
    panels: ranges of its columns set as tabulars one below the other (one panel: the whole)."""

    size_command: str  # "small", "footnotesize", "scriptsize"
    size_pt: float
    tabcolsep_pt: float
    panels: tuple[range, ...]
    rotated: bool = False

    @property
    def environment(self) -> str:
        return "sidewaystable" if self.rotated else "table"


# From the largest to the smallest; the first that fits is taken.
_CANDIDATES = (
    ("small", 9.0, 6.0),
    ("small", 9.0, 4.0),
    ("footnotesize", 8.0, 4.0),
    ("scriptsize", 7.0, 3.0),
)
# Width of an EC character at the size, relative to its width at 10 pt: small sizes are drawn
# relatively wider (measured with pdflatex: digits 5.00, 4.62, 4.25, 3.98 pt at 10, 9, 8, 7 pt).
_SIZE_RATIO = {10.0: 1.0, 9.0: 0.925, 8.0: 0.85, 7.0: 0.797}
# Widths at 10 pt (ecrm1000), in pt; letters not listed take the average of their case.
_WIDTH_10PT = {
    **dict.fromkeys("0123456789", 5.0),
    **dict.fromkeys(".,:;!'", 2.78),
    " ": 3.33,
    "±": 7.78,
    "×": 7.78,
    "=": 7.78,
    "+": 7.78,
    "−": 7.78,
    "@": 7.78,
    "(": 3.89,
    ")": 3.89,
    "[": 2.78,
    "]": 2.78,
    "-": 3.33,
    "/": 5.0,
    "%": 8.33,
    "—": 10.0,
    "–": 5.0,
    "·": 9.44,  # " $\cdot$ " with its spaces counted once
    "†": 4.4,
    "i": 2.78,
    "l": 2.78,
    "j": 3.06,
    "f": 3.06,
    "t": 3.89,
    "m": 8.33,
    "w": 7.22,
    "M": 9.17,
    "W": 10.28,
    "I": 3.61,
}
_LOWER_10PT = 4.9
_UPPER_10PT = 7.2
_OTHER_10PT = 7.0
_BOLD = 1.15  # bold extended (ecbx) against roman
_MARK_CHAR_10PT = 5.2  # a superscript mark, per character ("n=1": 15.6 pt)


def choose_layout(table: Table, cell_texts: list[list[str]]) -> LatexLayout:
    """The largest type at which ``table`` (its cells as LaTeX prints them, in plain text)
    fits the article's width. A table too wide at 7 pt is cut between its column groups into
    panels set one below the other, as the paper sets Tables 2 and 3 (CUB and Cars196, then
    SOP and In-Shop); one that cannot be cut goes on a rotated page."""
    whole = (range(len(table.column_labels)),)
    for panels in (whole, *_group_splits(table)):
        for command, size, tabcolsep in _CANDIDATES:
            widths = [estimated_width(table, cell_texts, size, tabcolsep, p) for p in panels]
            if max(widths) <= ARTICLE_LINEWIDTH_PT:
                return LatexLayout(command, size, tabcolsep, panels)
    for command, size, tabcolsep in _CANDIDATES:
        if estimated_width(table, cell_texts, size, tabcolsep) <= ROTATED_LINEWIDTH_PT:
            return LatexLayout(command, size, tabcolsep, whole, rotated=True)
    command, size, tabcolsep = _CANDIDATES[-1]
    return LatexLayout(command, size, tabcolsep, whole, rotated=True)


def _group_splits(table: Table) -> list[tuple[range, ...]]:
    """Ways to cut the columns between groups into 2, 3, ... panels of about equal width."""
    if not table.shows_groups:
        return []
    spans, start = [], 0
    for _, members in groupby(table.column_groups):
        width = len(list(members))
        spans.append(range(start, start + width))
        start += width
    splits = []
    for count in range(2, len(spans) + 1):
        per_panel = -(-len(spans) // count)  # ceil: the first panels take the extra group
        chunks = [spans[i : i + per_panel] for i in range(0, len(spans), per_panel)]
        split = tuple(range(chunk[0].start, chunk[-1].stop) for chunk in chunks)
        if split not in splits:
            splits.append(split)
    return splits


def estimated_width(
    table: Table,
    cell_texts: list[list[str]],
    size: float,
    tabcolsep: float,
    columns: range | None = None,
) -> float:
    """The printed width in pt of the tabular of ``columns`` (all by default) with the row
    labels, at ``size`` pt type and ``tabcolsep`` pt spacing."""
    columns = range(len(table.column_labels)) if columns is None else columns
    widths = [max(text_width(text) for text in (table.row_header, *table.row_labels))]
    for j in columns:
        entries = [(table.column_labels[j], False, "")]
        for row, texts in zip(table.cells, cell_texts, strict=True):
            entries.append((texts[j], row[j].emphasis is Emphasis.BEST, row[j].mark))
        widths.append(
            max(
                text_width(text, bold) + _MARK_CHAR_10PT * len(mark) for text, bold, mark in entries
            )
        )
    scale = _SIZE_RATIO[size]
    if table.shows_groups:  # a group's label may be wider than its columns
        groups = [table.column_groups[j] for j in columns]
        start = 1
        for group, members in groupby(groups):
            span = len(list(members))
            inner = sum(widths[start : start + span]) + 2 * tabcolsep * (span - 1) / scale
            widths[start] += max(0.0, text_width(group) - inner)
            start += span
    return sum(width * scale for width in widths) + 2 * tabcolsep * len(widths)


def text_width(text: str, bold: bool = False) -> float:
    """The width in pt of ``text`` at 10 pt."""
    width = 0.0
    for char in text:
        if char in _WIDTH_10PT:
            width += _WIDTH_10PT[char]
        elif char.islower():
            width += _LOWER_10PT
        elif char.isupper():
            width += _UPPER_10PT
        else:
            width += _OTHER_10PT
    return width * (_BOLD if bold else 1.0)
