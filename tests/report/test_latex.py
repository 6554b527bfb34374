"""The .tex tables compile: pdflatex builds a minimal document around each one.

Needs Debian's ``texlive-latex-base`` and ``texlive-latex-recommended`` (booktabs); skipped
without pdflatex on a laptop, an error in CI (MLRC_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from fixed_results import GOLDEN_STEMS, fixed_results
from service_checks import need_service

from benchmark.report.summary import summarize_results
from benchmark.report.writer import build_documents, write_document
from benchmark.study.results import normalize_rows

pytestmark = pytest.mark.latex
GOLDEN = Path(__file__).parent / "golden"
DOCUMENT = r"""\documentclass{article}
\usepackage[T1]{fontenc}
\usepackage{booktabs}
\usepackage{graphicx}
\begin{document}
\input{%s}
\end{document}
"""


def compile_tex(table: Path, workdir: Path) -> subprocess.CompletedProcess:
    need_service(
        "pdflatex",
        shutil.which("pdflatex") is not None,
        "apt-get install texlive-latex-base texlive-latex-recommended",
    )
    document = workdir / f"{table.stem}_document.tex"
    document.write_text(DOCUMENT % table.resolve().as_posix())
    return subprocess.run(
        ["pdflatex", "-halt-on-error", "-interaction=nonstopmode", document.name],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("stem", GOLDEN_STEMS)
def test_golden_table_compiles(stem, tmp_path):
    result = compile_tex(GOLDEN / f"{stem}.tex", tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert (tmp_path / f"{stem}_document.pdf").stat().st_size > 1000


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
