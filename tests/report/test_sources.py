"""Reading the sources of `mlrc tables`: old files take the new columns' defaults; bad input is
one clear error."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from fixed_results import fixed_results, write_fixed_results

from benchmark.errors import ResultsError, RunDirectoryError
from benchmark.report.sources import merge_rows, read_source, run_identity
from benchmark.store.results_file import finite_rows, read_results_csv

# The columns of results files written before params_source, best_epochs and the ablations.
OLD_COLUMNS = [
    "dataset", "protocol", "loss", "display", "repeat", "mode", "dim", "metric", "value",
    "params", "seeds", "best_iterations", "code_version",
]  # fmt: skip


def _old_file(path):
    rows = fixed_results()
    # Before params_source, a run held one configuration per loss.
    rows = rows[(rows["ablation"] == "") & (rows["params_source"] != "mlrc2020")][OLD_COLUMNS]
    rows.to_csv(path, index=False)
    return path


def test_old_results_file_takes_the_documented_defaults(tmp_path):
    rows = read_results_csv(_old_file(tmp_path / "results.csv"))
    untrained = rows["loss"] == "untrained"
    assert set(rows.loc[untrained, "params_source"]) == {"none"}
    assert set(rows.loc[~untrained, "params_source"]) == {"search"}
    assert set(rows["ablation"]) == {""} and set(rows["ablation_value"]) == {""}
    assert set(rows["best_epochs"]) == {""}
    assert rows["value"].dtype == "float64" and rows["dim"].dtype == "int64"


def test_missing_display_falls_back_to_the_loss_label(tmp_path):
    path = tmp_path / "results.csv"
    fixed_results().drop(columns=["display"]).head(3).to_csv(path, index=False)
    assert read_results_csv(path)["display"].iloc[0] == "ArcFace"


def test_a_missing_column_is_named_with_the_file(tmp_path):
    path = tmp_path / "results.csv"
    fixed_results().drop(columns=["metric"]).to_csv(path, index=False)
    with pytest.raises(ResultsError, match=r"results\.csv: missing column\(s\) metric"):
        read_results_csv(path)


def test_a_non_numeric_value_names_its_line(tmp_path):
    path = tmp_path / "results.csv"
    rows = fixed_results().head(5).astype({"value": object})
    rows.loc[3, "value"] = "oops"
    rows.to_csv(path, index=False)
    with pytest.raises(ResultsError, match=r"line 5: column 'value' must be a number, not 'oops'"):
        read_results_csv(path)


@pytest.mark.parametrize("written", ["nan", "", "inf"])
def test_a_non_finite_value_is_read_and_left_out_with_one_warning_naming_its_row(
    tmp_path, caplog, written
):
    path = tmp_path / "results.csv"
    rows = fixed_results().head(5).astype({"value": object})
    rows.loc[3, "value"] = written
    rows.to_csv(path, index=False)
    read = read_results_csv(path)
    assert len(read) == 5 and not np.isfinite(read["value"].iloc[3])
    with caplog.at_level(logging.WARNING, logger="benchmark.store.results_file"):
        kept = finite_rows(read)
    assert len(kept) == 4 and np.isfinite(kept["value"]).all()
    (record,) = caplog.records
    row = rows.iloc[3]
    assert f"loss={row['loss']}" in record.message and f"repeat={row['repeat']}" in record.message
    assert f"metric={row['metric']}" in record.message and str(path) in record.message


def test_a_malformed_ablation_value_is_rejected(tmp_path):
    path = tmp_path / "results.csv"
    rows = fixed_results().head(2)
    rows.loc[1, "ablation_value"] = "batch_size=180"
    rows.to_csv(path, index=False)
    with pytest.raises(ResultsError, match=r"line 3: ablation_value must be a JSON object"):
        read_results_csv(path)


def test_malformed_best_epochs_are_rejected(tmp_path):
    path = tmp_path / "results.csv"
    rows = fixed_results().head(2)
    rows.loc[0, "best_epochs"] = "12; 15"
    rows.to_csv(path, index=False)
    with pytest.raises(ResultsError, match=r"line 2: best_epochs must be a JSON list of epochs"):
        read_results_csv(path)


def test_ablation_values_are_made_canonical(tmp_path):
    path = tmp_path / "results.csv"
    rows = fixed_results()
    rows = rows[rows["ablation"] == "alpha-base"].head(1).copy()
    rows["ablation_value"] = '{"base": 0.5,  "alpha": 0.01}'
    rows.to_csv(path, index=False)
    assert read_results_csv(path)["ablation_value"].iloc[0] == '{"alpha": 0.01, "base": 0.5}'


def test_the_same_run_given_twice_is_an_error_naming_both_files(tmp_path):
    first = read_source(write_fixed_results(tmp_path / "a" / "results.csv").parent)
    second = read_source(write_fixed_results(tmp_path / "b" / "results.csv"))
    with pytest.raises(
        ResultsError, match=r"appears more than once, in .*a/results\.csv and .*b/results\.csv"
    ):
        merge_rows([first, second])


def test_runs_with_different_repeats_merge(tmp_path):
    rows = fixed_results()
    rows[rows["repeat"] < 2].to_csv(tmp_path / "first.csv", index=False)
    rows[rows["repeat"] == 2].to_csv(tmp_path / "second.csv", index=False)
    merged = merge_rows([read_source(tmp_path / "first.csv"), read_source(tmp_path / "second.csv")])
    assert len(merged) == len(rows)


def test_the_manifest_is_read_with_the_rows(tmp_path):
    run_dir = write_fixed_results(tmp_path / "run" / "results.csv").parent
    assert read_source(run_dir).manifest == {}
    (run_dir / "run.json").write_text('{"storage": "sqlite:///x.db"}')
    assert read_source(run_dir).manifest == {"storage": "sqlite:///x.db"}
    assert read_source(run_dir / "results.csv").manifest == {}
    (run_dir / "run.json").write_text("{")
    with pytest.raises(RunDirectoryError, match="run.json is not valid JSON"):
        read_source(run_dir)


def test_a_folder_without_results_says_what_to_pass(tmp_path):
    with pytest.raises(ResultsError, match="holds no results.csv; pass a run directory"):
        read_source(tmp_path)
    with pytest.raises(ResultsError, match="does not exist"):
        read_source(tmp_path / "nowhere")


def test_an_unreadable_csv_is_one_error(tmp_path):
    path = tmp_path / "results.csv"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ResultsError, match="not a readable results CSV|missing column"):
        read_results_csv(path)


def test_an_empty_merge_has_the_required_columns():
    assert {"dataset", "metric", "value"} <= set(merge_rows([]).columns)
    assert isinstance(merge_rows([]), pd.DataFrame)


def test_run_identity_is_the_single_protocol_and_dataset():
    rows = fixed_results()
    cub = rows[(rows["dataset"] == "cub") & (rows["protocol"] == rows["protocol"].iloc[0])]
    assert run_identity(cub) == (cub["protocol"].iloc[0], "cub")
    assert run_identity(rows) is None
    assert run_identity(rows.iloc[:0]) is None
