"""What the repository cites, it ships: no file points at the maintainers' private notes, and
every ``results/reference/`` document a file cites exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHIPPED = ("benchmark", "protocols", "search_spaces", "results", "slurm", "tests", ".ci", "docs")
TOP_LEVEL = ("README.md", "Makefile", "pyproject.toml", "mkdocs.yml")
SKIPPED_DIRS = {"runs", "tables", "__pycache__"}
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".sh", ".sbatch", ".csv", ".tex", ""}
PRIVATE_NOTES = "shared" + "/reference"  # spelled in two parts so this file does not cite it
CITED_REFERENCE = re.compile(r"results/reference/([\w.-]+\.(?:md|csv))")


def _text_files() -> list[Path]:
    files = [REPO / name for name in TOP_LEVEL]
    for folder in SHIPPED:
        for path in sorted((REPO / folder).rglob("*")):
            relative = path.relative_to(REPO)
            if (
                path.is_file()
                and path.suffix in TEXT_SUFFIXES
                and not (SKIPPED_DIRS & set(relative.parts))
            ):
                files.append(path)
    return [path for path in files if path.is_file()]


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return {str(path.relative_to(REPO)): path.read_text(errors="replace") for path in _text_files()}


def test_no_file_cites_the_private_reference_notes(texts):
    citing = sorted(name for name, text in texts.items() if PRIVATE_NOTES in text)
    assert not citing, (
        f"{citing} cite {PRIVATE_NOTES}/, which no clone of the project has; cite the document "
        "under results/reference/ instead"
    )


def test_every_cited_reference_document_exists(texts):
    cited = {match for text in texts.values() for match in CITED_REFERENCE.findall(text)}
    assert {"mlrc-search-spaces.md", "protocols.md"} <= cited
    missing = sorted(
        name for name in cited if not (REPO / "results" / "reference" / name).is_file()
    )
    assert not missing, f"cited but not in results/reference/: {missing}"
