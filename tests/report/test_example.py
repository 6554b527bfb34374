"""``results/example/`` (made by ``make example``) is reproducible, and the README shows it.

The README's demo table sits between ``<!-- example-table:begin ... -->`` and
``<!-- example-table:end -->``; it must be exactly what ``mlrc tables results/example`` renders.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmark.cli import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "results" / "example"
README_BLOCK = re.compile(
    r"<!-- example-table:begin[^>]*-->\n(?P<table>.*?)\n<!-- example-table:end -->", re.S
)
TABLE_SUFFIXES = (".md", ".tex", ".csv")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("example")
    assert main(["tables", str(EXAMPLE), "--out", str(out), "--no-figures"]) == 0
    return out


def committed_tables() -> list[Path]:
    return sorted(p for p in EXAMPLE.glob("table*") if p.suffix in TABLE_SUFFIXES)


def test_example_holds_rows_tables_and_figures():
    assert (EXAMPLE / "results.csv").is_file()
    assert {"table1.md", "table1.tex", "table1.csv"} <= {p.name for p in committed_tables()}
    assert list(EXAMPLE.glob("curves_*.png")), "make example also commits the figures"


def test_example_tables_are_reproduced_byte_for_byte(rendered):
    produced = sorted(p.name for p in rendered.iterdir() if p.suffix in TABLE_SUFFIXES)
    assert produced == [p.name for p in committed_tables()]
    for committed in committed_tables():
        assert (rendered / committed.name).read_bytes() == committed.read_bytes(), (
            f"{committed.relative_to(REPO)} differs from `mlrc tables results/example`; "
            "run `make example`"
        )


def test_readme_demo_table_is_the_rendering_of_the_example(rendered):
    match = README_BLOCK.search((REPO / "README.md").read_text())
    assert match, "README.md lacks the <!-- example-table:begin --> ... end block"
    assert match["table"].strip() == (rendered / "table1.md").read_text().strip(), (
        "README.md's demo table differs from results/example; paste results/example/table1.md "
        "between the example-table markers"
    )
