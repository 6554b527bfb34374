"""results/reference/: the template has the schema's header, and the README documents it."""

from __future__ import annotations

from pathlib import Path

from benchmark.report.reference import REFERENCE_COLUMNS

REFERENCE = Path(__file__).resolve().parents[2] / "results" / "reference"


def test_template_is_the_header_of_the_schema_and_nothing_else():
    lines = (REFERENCE / "template.csv").read_text().splitlines()
    assert lines == [",".join(REFERENCE_COLUMNS)]


def test_readme_documents_every_column():
    readme = (REFERENCE / "README.md").read_text()
    assert all(f"`{column}`" in readme for column in REFERENCE_COLUMNS)
