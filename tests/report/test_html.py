"""The HTML tables are the table model's, as the Markdown ones: same cells, marks and notes.

Every table type (the golden fixed results, with a reference and a runtime table) is rendered
into a results page, read back from its HTML, and compared with its golden Markdown file read
back the same way; then the renderer's own rules: escaping, grouped headers, notes and marks a
table builder adds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixed_results import GOLDEN_STEMS, write_fixed_results, write_profile, write_reference
from page_parsing import ParsedTable, html_tables, markdown_tables

from benchmark.report.html import inline_markdown, table_to_html
from benchmark.report.markdown import table_to_markdown
from benchmark.report.table_model import MISSING, Cell, Emphasis, Note, Table
from benchmark.report.writer import write_report

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> str:
    base = tmp_path_factory.mktemp("page")
    run = write_fixed_results(base / "run" / "results.csv").parent
    listing = write_report(
        [run],
        base / "out",
        reference_csv=write_reference(base / "reference.csv"),
        profile_csv=write_profile(base / "profile.csv"),
        figures=False,
        html_dir=base / "site",
    )
    return listing.page.read_text()


@pytest.mark.parametrize("stem", GOLDEN_STEMS)
def test_every_table_type_reads_back_as_its_golden_markdown(page, stem):
    shown = html_tables(page, scope=f"doc-{stem}")
    expected = markdown_tables(GOLDEN / f"{stem}.md")
    assert shown, f"{stem} is missing from the page"
    assert shown == expected


def test_the_fixed_results_exercise_marks_missing_cells_and_both_emphases(page):
    cells = [
        cell
        for stem in GOLDEN_STEMS
        for table in html_tables(page, scope=f"doc-{stem}")
        for _, row in table.rows
        for cell in row
    ]
    assert any(text.endswith("(n=1)") for text, _ in cells)
    assert any(text == "—" for text, _ in cells)
    assert {emphasis for _, emphasis in cells} == {"", "best", "not_worse"}


def _table(**changes) -> Table:
    fields = {
        "title": "MAP@R <on> CUB & Cars",
        "row_header": "Loss",
        "row_labels": ["A|B", "<script>"],
        "column_labels": ["128D", "512D", "128D"],
        "column_groups": ["CUB", "CUB", "Cars196"],
        "cells": [
            [Cell("1.00 ± 0.10", Emphasis.BEST), Cell("2.00", Emphasis.NOT_WORSE, "n=1"), MISSING],
            [Cell("0.50 ± 0.20"), Cell("3.00 ± 0.30", Emphasis.BEST), Cell("4.00")],
        ],
        "notes": [Note("**Bold**: best; *italic*: not worse.", r"\textbf{Bold}: best.")],
    }
    return Table(**{**fields, **changes})


def _read_back(table: Table, tmp_path) -> tuple[ParsedTable, ParsedTable]:
    markdown = tmp_path / "table.md"
    markdown.write_text(table_to_markdown(table) + "\n")
    (shown,) = html_tables(table_to_html(table))
    (expected,) = markdown_tables(markdown)
    return shown, expected


def test_text_is_escaped_and_reads_back_unchanged(tmp_path):
    table = _table()
    html = table_to_html(table)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "MAP@R &lt;on&gt; CUB &amp; Cars" in html
    shown, expected = _read_back(table, tmp_path)
    assert shown == expected
    assert [label for label, _ in shown.rows] == ["A|B", "<script>"]


def test_column_groups_span_their_columns_and_the_row_header_both_header_rows():
    html = table_to_html(_table())
    assert '<th scope="colgroup" colspan="2">CUB</th>' in html
    assert '<th scope="colgroup" colspan="1">Cars196</th>' in html
    assert '<th scope="col" rowspan="2">Loss</th>' in html
    single = table_to_html(_table(column_groups=["CUB", "CUB", "CUB"]))
    assert "colgroup" not in single  # one group is said in the title, as in Markdown


def test_cells_show_emphasis_mark_and_missing_as_markdown_does():
    html = table_to_html(_table())
    assert '<td class="best"><strong>1.00 ± 0.10</strong></td>' in html
    assert '<td class="not-worse"><em>2.00</em> <span class="mark">(n=1)</span></td>' in html
    assert '<td class="missing">—</td>' in html


def test_a_note_mark_and_column_a_builder_adds_show_without_a_change_here(tmp_path):
    """What another table builder adds (a "settings differ" mark, a budget column, their
    footnote) comes out of the model as it is: nothing in the renderer names them."""
    table = _table(
        column_labels=["128D", "512D", "budget"],
        column_groups=[],
        cells=[
            [Cell("1.00", Emphasis.BEST, "‡"), Cell("2.00"), Cell("20 trials")],
            [Cell("0.50"), Cell("3.00", Emphasis.BEST), Cell("10 trials", mark="‡")],
        ],
        notes=[Note("‡ settings differ: **study.n_trials** 20 vs 10; see `run.json`.", "")],
    )
    html = table_to_html(table)
    assert '<span class="mark">(‡)</span>' in html
    assert (
        "‡ settings differ: <strong>study.n_trials</strong> 20 vs 10; see <code>run.json</code>."
        in html
    )
    shown, expected = _read_back(table, tmp_path)
    assert shown.headers == ["128D", "512D", "budget"]
    assert shown.rows == expected.rows


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        ("**Bold**: best", "<strong>Bold</strong>: best"),
        ("*italic*: not worse, p ≥ 0.05", "<em>italic</em>: not worse, p ≥ 0.05"),
        ("2 * 3 * 4 and a*b", "2 * 3 * 4 and a*b"),  # arithmetic is not emphasis
        ("Welch's t-test <p>", "Welch's t-test &lt;p&gt;"),
    ],
)
def test_inline_markdown_of_notes(markdown, html):
    assert inline_markdown(markdown) == html
