"""Markdown rendering of tables: GitHub-flavoured pipes, bold best, italic not-worse, "—",
a cell's mark in parentheses ("25.00 (n=1)")."""

from __future__ import annotations

from benchmark.report.table_model import Cell, Emphasis, Table

MISSING_TEXT = "—"


def table_to_markdown(table: Table, title: bool = True) -> str:
    """The table (with its bold title line unless ``title`` is False) and its notes."""
    headers = [
        f"{group} {label}" if table.shows_groups else label
        for label, group in zip(
            table.column_labels, table.column_groups or [""] * len(table.column_labels), strict=True
        )
    ]
    lines = [f"**{_escape(table.title)}**", ""] if title else []
    lines.append(_row([_escape(table.row_header), *(_escape(h) for h in headers)]))
    lines.append(f"|{'|'.join(['---'] + [':---:'] * len(headers))}|")
    for label, cells in zip(table.row_labels, table.cells, strict=True):
        lines.append(_row([_escape(label), *(_cell(cell) for cell in cells)]))
    if table.notes:
        lines.append("")
        lines.extend(note.markdown for note in table.notes)
    return "\n".join(lines)


def document_to_markdown(tables: list[Table]) -> str:
    return "\n\n".join(table_to_markdown(table) for table in tables) + "\n"


def _cell(cell: Cell) -> str:
    if cell.text is None:
        return MISSING_TEXT
    text = _escape(cell.text)
    if cell.emphasis is Emphasis.BEST:
        text = f"**{text}**"
    elif cell.emphasis is Emphasis.NOT_WORSE:
        text = f"*{text}*"
    return f"{text} ({_escape(cell.mark)})" if cell.mark else text


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _escape(text: str) -> str:
    return text.replace("|", "\\|")
