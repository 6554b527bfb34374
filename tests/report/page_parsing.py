"""Read tables back from the results page (HTML) and from the Markdown files, into one shape.

A table reads as ``ParsedTable``: its title, column headers (a grouped column as "group label",
the way Markdown writes it), and rows of (label, cells), each cell (text, emphasis) with the text
as a reader sees it ("11.12 ± 2.60 (n=2)") and the emphasis "best", "not_worse" or "".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path


@dataclass
class ParsedTable:
    title: str = ""
    headers: list[str] = field(default_factory=list)
    rows: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# -- Markdown ---------------------------------------------------------------------------------

_PIPE = re.compile(r"(?<!\\)\|")
_MD_CELL = re.compile(r"^(?P<mark>\*\*|\*)?(?P<text>.*?)(?P=mark)?(?P<tail> \([^()]*\))?$")


def markdown_tables(path: Path) -> list[ParsedTable]:
    """The tables of a ``<stem>.md`` file: each a bold title line, a blank line, the pipes,
    then (after a blank line) its notes."""
    lines = path.read_text().splitlines()
    tables: list[ParsedTable] = []
    for number, line in enumerate(lines):
        next_line = lines[number + 2] if number + 2 < len(lines) else ""
        if line.startswith("**") and line.endswith("**") and next_line.startswith("|"):
            tables.append(ParsedTable(title=line[2:-2]))
        elif line.startswith("|") and not line.startswith("|---"):
            cells = _md_cells(line)
            if not tables[-1].headers:
                tables[-1].headers = cells[1:]
            else:
                tables[-1].rows.append((cells[0], [_md_cell(cell) for cell in cells[1:]]))
        elif line.strip() and not line.startswith("|"):
            tables[-1].notes.append(_strip_markdown(line))
    return tables


def _md_cells(line: str) -> list[str]:
    return [cell.strip().replace("\\|", "|") for cell in _PIPE.split(line.strip())[1:-1]]


def _md_cell(cell: str) -> tuple[str, str]:
    match = _MD_CELL.match(cell)
    emphasis = {"**": "best", "*": "not_worse", None: ""}[match["mark"]]
    return match["text"] + (match["tail"] or ""), emphasis


def _strip_markdown(text: str) -> str:
    return re.sub(r"\*\*(.+?)\*\*|\*(.+?)\*", lambda m: m[1] or m[2], text)


# -- HTML -------------------------------------------------------------------------------------


class _ResultsTables(HTMLParser):
    """The ``figure.table`` elements of a page, optionally only inside the element ``scope``
    (an id)."""

    def __init__(self, scope: str | None) -> None:
        super().__init__()
        self.scope, self.depth_in_scope = scope, 0 if scope else 1
        self.tables: list[ParsedTable] = []
        self.stack: list[str] = []
        self.text: list[str] | None = None
        self.cell: dict = {}
        self.header_rows: list[list[tuple[str, int]]] = []
        self.row: list = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if self.scope and attributes.get("id") == self.scope:
            self.depth_in_scope = 1
        elif self.depth_in_scope and self.scope and tag not in _VOID:
            self.depth_in_scope += 1
        if not self.depth_in_scope:
            return
        classes = (attributes.get("class") or "").split()
        if tag == "figure" and "table" in classes:
            self.tables.append(ParsedTable())
            self.header_rows = []
        elif tag == "figcaption" and "table-title" in classes or tag == "p" and self._in_notes():
            self.text = []
        elif tag == "tr":
            self.row = []
        elif tag in ("th", "td"):
            self.text = []
            self.cell = {"span": int(attributes.get("colspan", 1)), "emphasis": ""}
        elif tag == "strong" and self.cell:
            self.cell["emphasis"] = "best"
        elif tag == "em" and self.cell:
            self.cell["emphasis"] = "not_worse"
        if tag not in _VOID:
            self.stack.append(" ".join([tag, *classes]))

    def handle_endtag(self, tag):
        if self.depth_in_scope and self.scope:
            self.depth_in_scope -= 1
            if not self.depth_in_scope:
                return
        if not self.depth_in_scope or not self.stack:
            return
        self.stack.pop()
        table = self.tables[-1] if self.tables else None
        text = "".join(self.text or []).strip()
        if tag == "figcaption" and self.text is not None:
            table.title, self.text = text, None
        elif tag == "p" and self.text is not None:
            table.notes.append(text)
            self.text = None
        elif tag in ("th", "td"):
            self.row.append((text, self.cell["span"], self.cell["emphasis"], tag))
            self.text, self.cell = None, {}
        elif tag == "tr" and table is not None:
            self._end_row(table)

    def handle_data(self, data):
        if self.text is not None:
            self.text.append(data)

    def _in_notes(self) -> bool:
        return any("table-notes" in entry.split()[1:] for entry in self.stack)

    def _end_row(self, table: ParsedTable) -> None:
        if any(entry.split()[0] == "thead" for entry in self.stack):
            self.header_rows.append([(text, span) for text, span, _, _ in self.row])
            table.headers = _headers(self.header_rows)
        else:
            label, *cells = self.row
            table.rows.append((label[0], [(text, emphasis) for text, _, emphasis, _ in cells]))


_VOID = {"meta", "link", "img", "br", "hr", "input"}


def _headers(rows: list[list[tuple[str, int]]]) -> list[str]:
    """Column headers without the row header; two rows (groups over labels) joined as Markdown
    joins them: "group label"."""
    if len(rows) == 1:
        return [text for text, _ in rows[0][1:]]
    groups = [text for text, span in rows[0][1:] for _ in range(span)]
    return [f"{group} {label}".strip() for group, (label, _) in zip(groups, rows[1], strict=True)]


def html_tables(html: str, scope: str | None = None) -> list[ParsedTable]:
    """The tables of a results page (inside the element of id ``scope`` when given)."""
    parser = _ResultsTables(scope)
    parser.feed(html)
    return parser.tables


class _PlainTables(HTMLParser):
    """Every ``table.plain`` (cost, trials) inside the element of id ``scope``: its header texts
    and its rows of cell texts."""

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope, self.depth = scope, 0
        self.tables: list[tuple[list[str], list[list[str]]]] = []
        self.in_plain, self.row, self.text = False, None, None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id") == self.scope:
            self.depth = 1
        elif self.depth and tag not in _VOID:
            self.depth += 1
        if not self.depth:
            return
        if tag == "table" and "plain" in (attributes.get("class") or "").split():
            self.in_plain = True
            self.tables.append(([], []))
        elif self.in_plain and tag == "tr":
            self.row = []
        elif self.in_plain and tag in ("th", "td"):
            self.text = []

    def handle_endtag(self, tag):
        if not self.depth:
            return
        self.depth -= 1
        if tag == "table":
            self.in_plain = False
        elif self.in_plain and tag in ("th", "td") and self.text is not None:
            self.row.append("".join(self.text).strip())
            self.text = None
        elif self.in_plain and tag == "tr":
            headers, rows = self.tables[-1]
            if headers:
                rows.append(self.row)
            else:
                headers.extend(self.row)

    def handle_data(self, data):
        if self.text is not None:
            self.text.append(data)


def plain_tables(html: str, scope: str) -> list[tuple[list[str], list[list[str]]]]:
    """The cost and trials tables inside the element of id ``scope``: (headers, rows) each."""
    parser = _PlainTables(scope)
    parser.feed(html)
    return parser.tables
