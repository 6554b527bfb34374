"""Every table type rendered from the fixed results matches its golden md/tex/csv file.

The golden files were checked by eye (values, bold, intervals, "—" cells, significance marks);
any change in rendering shows up here as a diff. After an intended change, regenerate them:
``MLRC_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/report/test_golden_tables.py``
and review ``git diff tests/report/golden``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixed_results import (
    GOLDEN_STEMS,
    NON_FINITE,
    write_fixed_results,
    write_profile,
    write_reference,
)

from benchmark.report.paper_tables import TABLE1_STEM, TRADITIONAL_STEM, main_document
from benchmark.report.table_model import TableDocument
from benchmark.report.writer import write_report

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("MLRC_UPDATE_GOLDEN") == "1"
FILES = [f"{stem}.{suffix}" for stem in GOLDEN_STEMS for suffix in ("md", "tex", "csv")]
FILES.append("tables.tex")  # the LaTeX document that inputs every table


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
    assert "| *30.00 ± 2.73* |" in _md_row(rendered, "table1", "ProxyAnch.")  # p_holm >= 0.05
    assert _md_row(rendered, "table1", "ProxyAnch.").endswith("| — | — | — | — |")
    assert _md_row(rendered, "table1", "Mine").startswith("| Mine | 25.00 (n=1) | 27.00 (n=1) |")
    assert "| 18.00 ± 2.28 |" in _md_row(rendered, "table1", "ArcFace")  # significantly worse
    text = (rendered / "table1.md").read_text()
    assert "over 3 repeats" in text and "CWMS: mlrc2020" in text
    assert "| Loss | CUB 128D | CUB 512D | Cars196 128D |" in text


def test_table1_latex_marks_the_same_cells(rendered):
    tex = (rendered / "table1.tex").read_text()
    assert r"MFCWMS & \textbf{29.00$\pm$1.82} & \textbf{31.00$\pm$1.82}" in tex
    assert r"\underline{30.00$\pm$2.73}" in tex
    assert r"CWMS$^\dagger$ &" in tex
    assert r"Mine & 25.00$^{n=1}$ & 27.00$^{n=1}$ & 40.00$^{n=1}$" in tex
    assert r"\multicolumn{2}{c}{CUB} & \multicolumn{2}{c}{Cars196}" in tex
    assert r"\cmidrule(lr){2-3}" in tex


def _cell(rendered, stem, loss, column) -> pd.Series:
    cells = pd.read_csv(rendered / f"{stem}.csv")
    return cells[(cells["loss"] == loss) & (cells["column"] == column)].iloc[0]


def test_a_single_repeat_above_the_rest_is_marked_never_bold_and_the_column_is_still_tested(
    rendered,
):
    # Mine has one repeat on Cars196 and the highest mean of each column there: it shows its
    # value with n=1, is not bold, and the best among the repeated cells (MFCWMS) is the
    # reference the others are tested against.
    assert _md_row(rendered, "table1", "Mine").endswith("| 40.00 (n=1) | 42.00 (n=1) | — | — |")
    assert "| **34.00 ± 1.82** | **36.00 ± 1.82** |" in _md_row(rendered, "table1", "MFCWMS")
    mine = _cell(rendered, "table1", "mine", "Cars196 128D")
    assert not mine["is_best"] and np.isnan(mine["p_value"])
    assert _cell(rendered, "table1", "mfcwms", "Cars196 128D")["is_best"]
    arcface = _cell(rendered, "table1", "arcface", "Cars196 128D")
    assert 0 < arcface["p_value"] < 0.05 and arcface["not_significantly_worse"] == False  # noqa: E712


def test_a_cell_over_fewer_repeats_than_its_column_says_its_n(rendered):
    # CWMS has 2 repeats on Cars196, the others 3.
    assert "| 28.76 ± 4.57 (n=2) | 30.76 ± 4.57 (n=2) |" in _md_row(rendered, "table1", "CWMS†")
    assert "| 24.00 ± 1.37 | 26.00 ± 1.37 |" in _md_row(rendered, "table1", "CWMS†")  # CUB: 3


def test_a_non_finite_value_is_left_out_and_its_cell_shows_the_reduced_n(rendered):
    # ProxyAnchor, CUB, separated MAP@R: repeat 2 is NaN; the cell is the mean of the other two.
    assert _md_row(rendered, "table1", "ProxyAnch.").startswith(
        "| ProxyAnch. | *27.52 ± 9.15* (n=2) | *30.00 ± 2.73* |"
    )
    assert _cell(rendered, "table1", "proxy_anchor", "CUB 128D")["n"] == 2


def test_a_non_finite_value_gives_one_warning_naming_its_row(tmp_path, caplog):
    run = write_fixed_results(tmp_path / "run" / "results.csv").parent
    with caplog.at_level(logging.WARNING, logger="benchmark.store.results_file"):
        write_report([run], tmp_path / "out", figures=False)
    (warning,) = [r for r in caplog.records if "non-finite" in r.message]
    dataset, loss, repeat, mode, metric = NON_FINITE
    assert f"dataset={dataset}" in warning.message and f"loss={loss}" in warning.message
    assert f"repeat={repeat}" in warning.message and f"mode={mode}" in warning.message
    assert f"metric={metric}" in warning.message


def test_no_table_keeps_a_column_without_any_result(rendered):
    for path in rendered.glob("*.md"):
        lines = [line for line in path.read_text().splitlines() if line.startswith("| ")]
        tables = [[]]
        for line in lines:  # a header line starts each table of the file
            if line.startswith(("| Loss |", "| Dataset |", "| α |", "| B, C |", "| Result |")):
                tables.append([])
            tables[-1].append(line.split(" | ")[1:])
        for table in filter(None, tables):
            for column in zip(*table[1:], strict=True):
                assert any(cell.strip(" |") != "—" for cell in column), path.name
    # The traditional table recorded no epochs on Cars196: that column is left out.
    assert "Cars196 Epoch" not in (rendered / "table2_3_traditional.md").read_text()


def test_zero_variance_groups_tie_or_differ_for_certain(rendered):
    # Cars196, 512D: R-Precision of ArcFace and MFCWMS is 45% in every repeat (a tie, both
    # best); their P@1 is 50% and 70% in every repeat (p = 0: significantly worse).
    arcface = _md_row(rendered, "table_full_cars196_mlrc", "ArcFace").split(" | ")
    mfcwms = _md_row(rendered, "table_full_cars196_mlrc", "MFCWMS").split(" | ")
    assert arcface[6].rstrip(" |") == mfcwms[6].rstrip(" |") == "**45.00 ± 0.00**"
    assert arcface[5] == "50.00 ± 0.00" and mfcwms[5] == "**70.00 ± 0.00**"
    p1 = _cell(rendered, "table_full_cars196_mlrc", "arcface", "Concatenated (512D) P@1")
    assert p1["p_value"] == 0.0 and not p1["not_significantly_worse"]


def test_full_tables_group_the_metrics_by_evaluation_as_the_paper(rendered):
    md = (rendered / "table_full_cub_mlrc.md").read_text()
    assert "| Loss | Separated (128D) MAP@R | Separated (128D) P@1 | Separated (128D) RP |" in md
    tex = (rendered / "table_full_cub_mlrc.tex").read_text()
    assert r"\multicolumn{3}{c}{Separated (128D)}" in tex
    assert r"\multicolumn{3}{c}{Concatenated (512D)}" in tex
    assert "Loss & MAP@R & P@1 & RP" in tex


def test_a_column_with_a_single_compared_entry_is_bold_without_tests(rendered):
    text = (rendered / "table_full_sop.md").read_text()
    assert _md_row(rendered, "table_full_sop", "ArcFace").count("**") == 2 * 6
    assert "italic" not in text  # nothing was tested, so the rule is not stated


def test_traditional_table_shows_epochs_counted_from_0_as_the_paper(rendered):
    # MFCWMS's best_epochs are [12], [15], [18] (1 = after the first epoch): 0-based 11, 14, 17.
    assert _md_row(rendered, "table2_3_traditional", "MFCWMS") == (
        "| MFCWMS | **31.00 ± 1.82** | 14.0 ± 7.5 | **36.00 ± 1.82** |"
    )
    assert "counted from 0 as in the paper" in (rendered / "table2_3_traditional.md").read_text()


def test_ablation_tables_have_the_papers_layouts(rendered):
    mf_reg = (rendered / "table6_mf_reg.md").read_text()
    header = "| Loss | " + " | ".join(f"γ = {v}" for v in (0, 0.01, 0.1, 1, 10, 100)) + " |"
    assert header in mf_reg and _md_row(rendered, "table6_mf_reg", "MFCont.").endswith("| — |")
    batch = (rendered / "table4_5_10_batch_size.md").read_text()
    assert "| Dataset | batch size = 32 | batch size = 180 | batch size = 1024 |" in batch
    assert "MFCWMS" in batch.splitlines()[0]  # the one loss is named in the title
    grid = (rendered / "table_alpha_base.md").read_text()
    assert "| α | base = 0.5 | base = 0.8 |" in grid
    assert "| α = 10 | 25.50 (n=1) | 27.50 (n=1) |" in grid  # single repeats: not tested
    dims = (rendered / "table_embedding_dim.md").read_text()
    assert "| Separated 𝑑 = 64 |" in dims and "embedding_size" not in dims
    assert r"$d$ = 64" in (rendered / "table_embedding_dim.tex").read_text()


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
