"""The frame of the results page: one HTML document with its style sheet inline.

Nothing is fetched when the page is viewed: no script, no web font, no CDN; the style uses the
system's fonts, the favicon is an empty ``data:`` URL (so a browser asks for no
``/favicon.ico``), and every image and link is a relative path inside the page's folder.
"""

from __future__ import annotations

from html import escape

STYLE = """
:root { color-scheme: light; --rule: #d0d4da; --muted: #5b6470; --accent: #1f5fa8; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1c2128; background: #fff; }
header, main, footer { max-width: 1200px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 20px; border-bottom: 1px solid var(--rule); }
h1 { font-size: 1.6em; margin: 0 0 4px; }
h2 { font-size: 1.3em; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--rule); }
h3 { font-size: 1.1em; margin: 22px 0 6px; }
h4 { font-size: 1em; margin: 18px 0 6px; }
a { color: var(--accent); }
nav { margin: 10px 0 12px; }
nav a { margin-right: 14px; white-space: nowrap; }
.muted, .sources, .downloads, .table-notes, figcaption, footer { color: var(--muted); }
.sources { margin: 0; font-size: 0.92em; }
.downloads { font-size: 0.9em; margin: 0 0 4px; }
.table-scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 6px 0; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: 4px 0 6px; }
figure.table { margin: 4px 0 18px; }
figcaption.table-title { color: inherit; font-weight: 600; font-size: 1em; max-width: 60em; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--rule); }
thead th { border-bottom: 2px solid #8a939e; text-align: center; vertical-align: bottom; }
tbody th { text-align: left; font-weight: normal; white-space: nowrap; }
table.results td { text-align: center; white-space: nowrap; }
td.best { background: #eef5ff; }
td.missing { color: var(--muted); }
.mark { color: var(--muted); font-size: 0.88em; }
.table-notes { font-size: 0.88em; margin: 2px 0 0; }
.table-notes p { margin: 2px 0; }
table.plain td, table.plain th { text-align: left; }
table.plain td.number { text-align: right; white-space: nowrap; }
table.trials { font-size: 0.9em; }
tr.best-trial { background: #eef5ff; font-weight: 600; }
tr.state-pruned td, tr.state-failed td { color: var(--muted); }
.figures { display: flex; flex-wrap: wrap; gap: 18px; }
figure { margin: 8px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--rule); }
.figures figure { flex: 1 1 520px; max-width: 100%; }
.study figure img { max-width: 520px; }
figcaption { font-size: 0.9em; }
.settings { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr));
            gap: 4px 24px; align-items: start; }
.settings table { width: 100%; table-layout: fixed; font-size: 0.88em; }
.settings th, .settings td { overflow-wrap: anywhere; text-align: left; vertical-align: top; }
.settings caption { font-weight: 600; }
.note { background: #f6f8fa; border-left: 3px solid var(--rule); padding: 6px 10px; }
footer { font-size: 0.85em; border-top: 1px solid var(--rule); margin-top: 36px; padding: 12px 24px 24px; }
code { font-size: 0.92em; }
"""


def page(title: str, subtitle: str, nav: list[tuple[str, str]], body: str, footer: str) -> str:
    """The whole document: ``nav`` holds (anchor id, label) pairs linked as ``#id``; ``body``
    and ``footer`` are HTML, ``title`` and ``subtitle`` text."""
    links = " ".join(f'<a href="#{escape(anchor)}">{escape(label)}</a>' for anchor, label in nav)
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<link rel="icon" href="data:,">',
            f"<title>{escape(title)}</title>",
            f"<style>{STYLE}</style>",
            "</head>",
            "<body>",
            "<header>",
            f"<h1>{escape(title)}</h1>",
            f'<p class="sources">{escape(subtitle)}</p>',
            f"<nav>{links}</nav>",
            "</header>",
            "<main>",
            body,
            "</main>",
            f"<footer>{footer}</footer>",
            "</body>",
            "</html>",
            "",
        ]
    )


def section(anchor: str, heading: str, body: str, level: int = 2) -> str:
    """``<section id=anchor>`` with its heading (text) and ``body`` (HTML)."""
    return (
        f'<section id="{escape(anchor)}">\n<h{level}>{escape(heading)}</h{level}>\n{body}\n'
        "</section>"
    )


def note(text: str) -> str:
    """A boxed remark (text): why a part of the page is empty."""
    return f'<p class="note">{escape(text)}</p>'


def plain_table(
    headers: list[str],
    rows: list[list[str]],
    css: str = "plain",
    row_classes: list[str] | None = None,
) -> str:
    """A table of HTML cells (settings, cost, trials; ``headers`` are text); a cell that starts
    with a digit or a sign is right-aligned. ``row_classes``: one CSS class per row ('' none)."""
    head = "".join(f'<th scope="col">{escape(header)}</th>' for header in headers)
    body = []
    for row, row_class in zip(rows, row_classes or [""] * len(rows), strict=True):
        cells = "".join(
            f'<td class="number">{cell}</td>' if _numeric(cell) else f"<td>{cell}</td>"
            for cell in row
        )
        attribute = f' class="{row_class}"' if row_class else ""
        body.append(f"<tr{attribute}>{cells}</tr>")
    return (
        f'<div class="table-scroll"><table class="{css}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _numeric(cell: str) -> bool:
    return bool(cell) and (cell[0].isdigit() or cell[0] in "-+−")
