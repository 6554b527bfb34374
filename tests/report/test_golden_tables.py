"""Every table type rendered from the fixed results matches its golden md/tex/csv file.

The golden files were checked by eye (values, bold, intervals, "—" cells, significance marks);
any change in rendering shows up here as a diff. After an intended change, regenerate them:
``MLRC_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/report/test_golden_tables.py``
and review ``git diff tests/report/golden``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from fixed_results import GOLDEN_STEMS, write_fixed_results, write_profile, write_reference

from benchmark.report.paper_tables import TABLE1_STEM, TRADITIONAL_STEM, main_document
from benchmark.report.table_model import TableDocument
from benchmark.report.writer import write_report

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("MLRC_UPDATE_GOLDEN") == "1"
FILES = [f"{stem}.{suffix}" for stem in GOLDEN_STEMS for suffix in ("md", "tex", "csv")]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("golden")
    run = write_fixed_results(base / "run" / "results.csv").parent
    write_report(
        [run],
        base / "out",
        reference_csv=write_reference(base / "reference.csv"),
        profile_csv=write_profile(base / "profile.csv"),
        figures=False,
    )
    return base / "out"


def test_every_table_type_is_written(rendered):
    assert sorted(p.name for p in rendered.iterdir()) == sorted(FILES)


@pytest.mark.parametrize("name", FILES)
def test_rendering_matches_the_golden_file(rendered, name):
    produced = (rendered / name).read_text()
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        (GOLDEN / name).write_text(produced)
    assert produced == (GOLDEN / name).read_text(), (
        f"{name} differs from tests/report/golden/{name}"
    )


def _md_row(rendered, stem, label):
    lines = (rendered / f"{stem}.md").read_text().splitlines()
    return next(line for line in lines if line.startswith(f"| {label} |"))


def test_table1_shows_bold_best_italic_not_worse_missing_and_single_repeats(rendered):
    assert _md_row(rendered, "table1", "MFCWMS").count("**") == 2 * 4  # best on CUB and Cars196
    assert "| *28.00 ± 2.73* |" in _md_row(rendered, "table1", "ProxyAnch.")  # p_holm >= 0.05
    assert _md_row(rendered, "table1", "ProxyAnch.").endswith("| — | — | — | — |")
    assert _md_row(rendered, "table1", "Mine").startswith("| Mine | 25.00 | 27.00 | — |")
    assert "| 18.00 ± 2.28 |" in _md_row(rendered, "table1", "ArcFace")  # significantly worse
    text = (rendered / "table1.md").read_text()
    assert "over 1–3 repeats" in text and "CWMS: mlrc2020" in text
    assert "| Loss | CUB 128D MAP@R | CUB 512D MAP@R | Cars196 128D MAP@R |" in text


def test_table1_latex_marks_the_same_cells(rendered):
    tex = (rendered / "table1.tex").read_text()
    assert r"MFCWMS & \textbf{29.00 $\pm$ 1.82} & \textbf{31.00 $\pm$ 1.82}" in tex
    assert r"\underline{28.00 $\pm$ 2.73}" in tex
    assert r"CWMS$^\dagger$ &" in tex
    assert r"Mine & 25.00 & 27.00 & --- & ---" in tex
    assert r"\multicolumn{2}{c}{CUB} & \multicolumn{2}{c}{Cars196}" in tex
    assert r"\cmidrule(lr){2-3}" in tex


def test_zero_variance_groups_tie_or_differ_for_certain(rendered):
    # Cars196, 512D: R-Precision of ArcFace and MFCWMS is 45% in every repeat (a tie, both
    # best); their P@1 is 50% and 70% in every repeat (p = 0: significantly worse).
    arcface = _md_row(rendered, "table_full_cars196_mlrc", "ArcFace").split(" | ")
    mfcwms = _md_row(rendered, "table_full_cars196_mlrc", "MFCWMS").split(" | ")
    assert arcface[5] == mfcwms[5] == "**45.00 ± 0.00**"
    assert arcface[4] == "50.00 ± 0.00" and mfcwms[4] == "**70.00 ± 0.00**"
    cells = pd.read_csv(rendered / "table_full_cars196_mlrc.csv")
    p1 = cells[(cells["loss"] == "arcface") & (cells["column"] == "512D P@1")].iloc[0]
    assert p1["p_value"] == 0.0 and not p1["not_significantly_worse"]


def test_a_column_with_a_single_compared_entry_is_bold_without_tests(rendered):
    text = (rendered / "table_full_sop.md").read_text()
    assert _md_row(rendered, "table_full_sop", "ArcFace").count("**") == 2 * 6
    assert "italic" not in text  # nothing was tested, so the rule is not stated


def test_traditional_table_shows_epochs_and_missing_epochs(rendered):
    assert _md_row(rendered, "table2_3_traditional", "MFCWMS") == (
        "| MFCWMS | **31.00 ± 1.82** | 15.0 ± 7.5 | **36.00 ± 1.82** | — |"
    )


def test_ablation_tables_have_the_papers_layouts(rendered):
    mf_reg = (rendered / "table6_mf_reg.md").read_text()
    header = "| Loss | " + " | ".join(f"mf_reg = {v}" for v in (0, 0.01, 0.1, 1, 10, 100)) + " |"
    assert header in mf_reg and _md_row(rendered, "table6_mf_reg", "MFCont.").endswith("| — |")
    batch = (rendered / "table4_5_10_batch_size.md").read_text()
    assert "| Dataset | batch_size = 32 | batch_size = 180 | batch_size = 1024 |" in batch
    assert "MFCWMS" in batch.splitlines()[0]  # the one loss is named in the title
    grid = (rendered / "table_alpha_base.md").read_text()
    assert "| alpha | base = 0.5 | base = 0.8 |" in grid
    assert "| alpha = 10 | 25.50 | 27.50 |" in grid  # single repeats: no interval, not tested


def test_reference_table_shows_difference_and_inside(rendered):
    rows = {
        "MFCWMS": "| 31.00 ± 1.82 | 31.20 [30.50, 31.90] | −0.20 | yes |",  # inside
        "ArcFace": "| 20.00 ± 2.28 | 25.00 | −5.00 | — |",  # no published interval
    }
    for loss, cells in rows.items():
        assert _md_row(
            rendered, "table_reference", f"CUB · {loss} · 512D concatenated MAP@R"
        ).endswith(cells + " MLRC Table 3 |" if loss == "ArcFace" else cells + " Paper Table 1 |")
    missing = _md_row(rendered, "table_reference", "SOP · MFCWMS · 512D concatenated MAP@R")
    assert missing.endswith("| — | 50.00 [49.00, 51.00] | — | — | Paper Table 1 |")  # not ours


def test_runtime_table_shows_ratios_and_skips(rendered):
    text = (rendered / "table_runtime.md").read_text()
    assert "| 32, 100 | 2.00 (1.00×) | 1.50 (0.75×) | 3.00 (1.50×) |" in text
    assert "| 180, 1000 | 16.0 (1.00×) | 8.0 (0.50×) | — |" in text
    assert "skipped (the C x C matrix exceeds the limit)" in text


def test_tidy_csv_has_one_row_per_cell_and_the_required_columns(rendered):
    cells = pd.read_csv(rendered / "table1.csv")
    required = {"dataset", "loss", "mode", "dim", "metric", "mean", "ci_low", "ci_high", "n",
                "p_value", "p_holm", "is_best", "not_significantly_worse"}  # fmt: skip
    assert required <= set(cells.columns)
    assert not cells.duplicated(["row", "column"]).any()
    md_cells = sum(
        line.count("|") - 2 - line.count("—")
        for line in (rendered / "table1.md").read_text().splitlines()[4:]
        if line.startswith("| ")
    )
    assert len(cells) == md_cells


def test_the_main_table_is_table1_else_the_traditional_table():
    traditional, first = (
        TableDocument(stem, [], pd.DataFrame()) for stem in (TRADITIONAL_STEM, TABLE1_STEM)
    )
    assert main_document([traditional, first]) is first
    assert main_document([traditional]) is traditional
    assert main_document([]) is None
