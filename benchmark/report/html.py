"""HTML rendering of tables, beside :mod:`~benchmark.report.markdown` and
:mod:`~benchmark.report.latex`: the same :class:`~benchmark.report.table_model.Table`, laid out
as a ``<table>``.

As in Markdown: the best value of a family is bold (``<strong>``), values not significantly
worse are italic (``<em>``), a missing cell is "—" and a cell's mark follows its value in
parentheses ("25.00 (n=1)"). So the notes, whose Markdown phrasing names the emphasis
("*italic*: not significantly worse ..."), are shown as they are written, their inline Markdown
(``**bold**``, ``*italic*``, ```code```) turned into tags: a note or a mark a table builder
adds appears on the page without any change here.
"""

from __future__ import annotations

import re
from html import escape
from itertools import groupby

from benchmark.report.markdown import MISSING_TEXT
from benchmark.report.table_model import Cell, Emphasis, Note, Table

EMPHASIS_CLASSES = {
    Emphasis.NONE: "",
    Emphasis.BEST: "best",
    Emphasis.NOT_WORSE: "not-worse",
}
_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_EM = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_CODE = re.compile(r"`([^`]+)`")


def table_to_html(table: Table, table_id: str = "") -> str:
    """A ``<figure>``: the title as its caption, the ``<table>``, then the notes."""
    id_attribute = f' id="{escape(table_id)}"' if table_id else ""
    lines = [
        f'<figure class="table"{id_attribute}>',
        f'<figcaption class="table-title">{escape(table.title)}</figcaption>',
        '<div class="table-scroll">',
        '<table class="results">',
        "<thead>",
        *_header_rows(table),
        "</thead>",
        "<tbody>",
    ]
    for label, cells in zip(table.row_labels, table.cells, strict=True):
        shown = "".join(cell_to_html(cell) for cell in cells)
        lines.append(f'<tr><th scope="row">{escape(label)}</th>{shown}</tr>')
    lines += ["</tbody>", "</table>", "</div>"]
    if table.notes:
        lines.append('<div class="table-notes">')
        lines += [f"<p>{note_to_html(note)}</p>" for note in table.notes]
        lines.append("</div>")
    lines.append("</figure>")
    return "\n".join(lines)


def document_to_html(tables: list[Table], id_prefix: str = "") -> str:
    """Every table of a document, one after the other (ids ``<id_prefix>-<k>`` when given)."""
    return "\n".join(
        table_to_html(table, f"{id_prefix}-{k}" if id_prefix else "")
        for k, table in enumerate(tables)
    )


def cell_to_html(cell: Cell) -> str:
    """A ``<td>``: the value with its emphasis, then its mark; "—" when missing."""
    if cell.text is None:
        return f'<td class="missing">{MISSING_TEXT}</td>'
    text = escape(cell.text)
    if cell.emphasis is Emphasis.BEST:
        text = f"<strong>{text}</strong>"
    elif cell.emphasis is Emphasis.NOT_WORSE:
        text = f"<em>{text}</em>"
    if cell.mark:
        text += f' <span class="mark">({escape(cell.mark)})</span>'
    css = EMPHASIS_CLASSES.get(cell.emphasis, "")
    return f'<td class="{css}">{text}</td>' if css else f"<td>{text}</td>"


def note_to_html(note: Note) -> str:
    """A note's Markdown phrasing, escaped, with its inline emphasis as tags."""
    return inline_markdown(note.markdown)


def inline_markdown(text: str) -> str:
    """Escape ``text`` and turn ``**bold**``, ``*italic*`` and ```code``` into tags."""
    html = escape(text, quote=False)
    html = _CODE.sub(r"<code>\1</code>", html)
    html = _STRONG.sub(r"<strong>\1</strong>", html)
    return _EM.sub(r"<em>\1</em>", html)


def _header_rows(table: Table) -> list[str]:
    """One header row, or two when the columns are grouped: the groups (spanning their
    columns) above the column labels, the row header spanning both."""
    labels = "".join(f'<th scope="col">{escape(label)}</th>' for label in table.column_labels)
    row_header = escape(table.row_header)
    if not table.shows_groups:
        return [f'<tr><th scope="col">{row_header}</th>{labels}</tr>']
    groups = []
    for group, members in groupby(table.column_groups):
        width = len(list(members))
        groups.append(f'<th scope="colgroup" colspan="{width}">{escape(group)}</th>')
    return [
        f'<tr><th scope="col" rowspan="2">{row_header}</th>{"".join(groups)}</tr>',
        f"<tr>{labels}</tr>",
    ]
