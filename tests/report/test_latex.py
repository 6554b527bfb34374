"""The .tex tables compile and are readable at a paper's width: pdflatex builds a minimal
one-column article around each one (``\\linewidth`` 345 pt) and reports the type size of its
body and the factor ``\\resizebox`` scaled it by; the printed type must be at least 7 pt.
``tables.tex``, the document ``mlrc tables`` writes around its tables, compiles as it is.

Needs Debian's ``texlive-latex-base`` and ``texlive-latex-recommended`` (booktabs); skipped
without pdflatex on a laptop, an error in CI (MLRC_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from fixed_results import GOLDEN_STEMS, fixed_results, write_fixed_results, write_reference
from service_checks import need_service

from benchmark.report.latex_layout import ARTICLE_LINEWIDTH_PT, MIN_BODY_PT
from benchmark.report.summary import summarize_results
from benchmark.report.writer import build_documents, write_document, write_report
from benchmark.store.results_file import normalize_rows

pytestmark = pytest.mark.latex
GOLDEN = Path(__file__).parent / "golden"
# A minimal article; \resizebox is wrapped to report, for each table, the natural width of what
# it holds, the width it must fit and the type size in force.
DOCUMENT = r"""\documentclass{article}
\usepackage[T1]{fontenc}
\usepackage{booktabs}
\usepackage{graphicx}
\usepackage{rotating}
\makeatletter
\let\measuredresizebox\resizebox
\renewcommand\resizebox[3]{\sbox0{#3}%
  \typeout{MEASURED natural=\the\wd0 \space linewidth=\the\linewidth \space size=\f@size}%
  \measuredresizebox{#1}{#2}{\usebox0}}
\makeatother
\begin{document}
\input{TABLE}
\end{document}
"""
MEASURED = re.compile(r"MEASURED natural=([\d.]+)pt linewidth=([\d.]+)pt size=([\d.]+)")


def need_pdflatex() -> None:
    need_service(
        "pdflatex",
        shutil.which("pdflatex") is not None,
        "apt-get install texlive-latex-base texlive-latex-recommended",
    )


def compile_tex(table: Path, workdir: Path) -> subprocess.CompletedProcess:
    need_pdflatex()
    document = workdir / f"{table.stem}_document.tex"
    document.write_text(DOCUMENT.replace("TABLE", table.resolve().as_posix()))
    return _pdflatex(document)


def printed_sizes(result: subprocess.CompletedProcess) -> list[tuple[float, float, float]]:
    """(type size, scale, \\linewidth) of each table, from the log lines of the wrapper."""
    sizes = []
    for natural, linewidth, size in MEASURED.findall(result.stdout):
        scale = min(1.0, float(linewidth) / float(natural))
        sizes.append((float(size), scale, float(linewidth)))
    return sizes


def _pdflatex(document: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["pdflatex", "-halt-on-error", "-interaction=nonstopmode", document.name],
        cwd=document.parent,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "max_print_line": "10000"},  # one log line per measurement
    )


@pytest.mark.parametrize("stem", GOLDEN_STEMS)
def test_golden_table_compiles_and_prints_at_7pt_or_more(stem, tmp_path):
    result = compile_tex(GOLDEN / f"{stem}.tex", tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert (tmp_path / f"{stem}_document.pdf").stat().st_size > 1000
    sizes = printed_sizes(result)
    assert sizes, "no table measured"
    for size, scale, linewidth in sizes:
        # At least 7 pt as printed, within the article's width or on a rotated page.
        assert size * scale >= MIN_BODY_PT - 0.01, f"{stem}: {size} pt x {scale:.3f}"
        assert (
            linewidth == ARTICLE_LINEWIDTH_PT
            or "sidewaystable" in (GOLDEN / f"{stem}.tex").read_text()
        )


def test_tables_document_compiles_as_it_is(tmp_path):
    need_pdflatex()
    run = write_fixed_results(tmp_path / "run" / "results.csv").parent
    out = tmp_path / "out"
    write_report([run], out, reference_csv=write_reference(tmp_path / "ref.csv"), figures=False)
    result = _pdflatex(out / "tables.tex")
    assert result.returncode == 0, result.stdout[-3000:]
    inputs = re.findall(r"\\input\{([^}]+)\}", (out / "tables.tex").read_text())
    assert sorted(inputs) == sorted(
        p.name for p in out.glob("table*.tex") if p.name != "tables.tex"
    )
    assert (out / "tables.pdf").stat().st_size > 10_000


def test_names_with_latex_special_characters_compile(tmp_path):
    rows = fixed_results()
    rows = rows[(rows["ablation"] == "") & (rows["mode"] != "single")].copy()
    rows.loc[rows["loss"] == "mine", "display"] = r"My_Loss & 100%#{~^}\ α·"
    rows.loc[rows["loss"] == "cwms", "params_source"] = "configs/best_params_v2.csv"
    summary = summarize_results(normalize_rows(rows))
    (document,) = [d for d in build_documents(summary, ("map_at_r",)) if d.stem == "table1"]
    tex = next(p for p in write_document(document, tmp_path) if p.suffix == ".tex")
    result = compile_tex(tex, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert isinstance(pd.read_csv(tmp_path / "table1.csv"), pd.DataFrame)
