"""MLRC's own table, rendered from results holding MLRC's 14 methods (and losses MLRC never ran).

The rows are plain arithmetic, as in ``fixed_results``. The golden files were checked by eye;
after an intended change regenerate them with
``MLRC_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/report/test_mlrc_table.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from test_latex import compile_tex

from benchmark.config.reference_methods import MLRC2020_METHODS
from benchmark.losses import get_loss_spec
from benchmark.report.mlrc_table import mlrc_tables
from benchmark.report.summary import summarize_results
from benchmark.report.writer import write_report
from benchmark.store.results_file import normalize_rows

GOLDEN = Path(__file__).parent / "golden" / "mlrc"
UPDATE = os.environ.get("MLRC_UPDATE_GOLDEN") == "1"
DATASETS = ("cub", "cars196", "sop")
STEMS = [f"table_mlrc_{dataset}" for dataset in DATASETS]
FILES = [f"{stem}.{suffix}" for stem in STEMS for suffix in ("md", "tex", "csv")]
OFFSETS = (-1.0, 0.2, 0.8)
# Beside MLRC's methods: its ArcFace retrained with MLRC's published parameters (†), and two
# losses MLRC never ran.
EXTRA = (("arcface", "mlrc2020"), ("mfcwms", "search"), ("circle", "search"))


def _rows() -> list[dict]:
    rows = []
    losses = [("untrained", "none")] + [(loss, "search") for loss in MLRC2020_METHODS]
    for dataset_index, dataset in enumerate(DATASETS):
        for loss_index, (loss, source) in enumerate(losses + list(EXTRA)):
            display = "no training" if loss == "untrained" else get_loss_spec(loss).display
            level = 0.10 + 0.01 * loss_index + 0.05 * dataset_index + 0.003 * (source != "search")
            spread = 0.004 + 0.001 * (loss_index % 4)
            for repeat, offset in enumerate(OFFSETS):
                for mode, dim, shift in (("separated", 128, -0.02), ("concatenated", 512, 0.0)):
                    for metric, metric_shift in (
                        ("precision_at_1", 0.3),
                        ("r_precision", 0.1),
                        ("map_at_r", 0.0),
                    ):
                        value = level + shift + metric_shift + spread * offset
                        rows.append(
                            {
                                "dataset": dataset,
                                "protocol": "mlrc",
                                "loss": loss,
                                "display": display,
                                "repeat": repeat,
                                "mode": mode,
                                "dim": dim,
                                "metric": metric,
                                "value": round(value, 6),
                                "params": "{}",
                                "params_source": source,
                                "seeds": json.dumps([1000 + repeat]),
                                "best_iterations": "[0]",
                                "best_epochs": "",
                                "ablation": "",
                                "ablation_value": "",
                                "code_version": "0.1.0+test",
                            }
                        )
    return rows


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("mlrc")
    results = base / "run" / "results.csv"
    results.parent.mkdir()
    pd.DataFrame.from_records(_rows()).to_csv(results, index=False)
    write_report([results.parent], base / "out", figures=False)
    return base / "out"


@pytest.mark.parametrize("name", FILES)
def test_mlrc_table_matches_the_golden_file(rendered, name):
    produced = (rendered / name).read_text()
    if UPDATE:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        (GOLDEN / name).write_text(produced)
    assert produced == (GOLDEN / name).read_text(), f"{name} differs from {GOLDEN / name}"


def _labels(rendered: Path, stem: str) -> list[str]:
    lines = (rendered / f"{stem}.md").read_text().splitlines()
    return [line.split(" | ")[0].removeprefix("| ") for line in lines[4:] if line.startswith("| ")]


def test_rows_are_pretrained_then_mlrc_methods_in_mlrc_order_then_the_others(rendered):
    displays = [get_loss_spec(loss).display for loss in MLRC2020_METHODS]
    expected = ["Pretrained", *displays[:8], "ArcFace†", *displays[9:], "MFCWMS", "Circle"]
    expected.insert(expected.index("ArcFace†"), "ArcFace")
    assert _labels(rendered, "table_mlrc_sop") == expected


def test_columns_are_concatenated_then_separated_each_p1_rp_map(rendered):
    header = (rendered / "table_mlrc_cub.md").read_text().splitlines()[2]
    groups = ("Concatenated (512D)", "Separated (128D)")
    columns = [f"{group} {metric}" for group in groups for metric in ("P@1", "RP", "MAP@R")]
    assert header == "| Method | " + " | ".join(columns) + " |"


def test_the_best_of_each_column_is_bold_and_pretrained_is_not_compared(rendered):
    frame = pd.read_csv(rendered / "table_mlrc_cars196.csv")
    best = frame[frame["is_best"]]
    assert len(best) == 6 and set(best["row"]) == {"Circle"}
    pretrained = frame[frame["row"] == "Pretrained"]
    assert pretrained["p_value"].isna().all() and not pretrained["is_best"].any()
    compared = frame[(frame["row"] != "Pretrained") & ~frame["is_best"]]
    assert compared["p_holm"].notna().all()
    text = (rendered / "table_mlrc_cars196.md").read_text()
    assert "Pretrained: the untrained networks" in text and "no training:" not in text
    assert "† hyperparameters from a published configuration (ArcFace: mlrc2020)" in text


def test_no_mlrc_method_no_mlrc_table():
    rows = normalize_rows(pd.DataFrame.from_records(_rows()))
    ours = rows[rows["loss"].isin(["mfcwms", "circle", "untrained"])]
    assert mlrc_tables(summarize_results(ours)) == []
    assert len(mlrc_tables(summarize_results(rows))) == 3


@pytest.mark.latex
@pytest.mark.parametrize("stem", STEMS)
def test_mlrc_table_compiles(stem, tmp_path):
    result = compile_tex(GOLDEN / f"{stem}.tex", tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert (tmp_path / f"{stem}_document.pdf").stat().st_size > 1000
