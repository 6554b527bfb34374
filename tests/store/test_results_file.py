"""results.csv: tidy rows, appended once per (loss, repeat), readable by tables and scripts."""

from __future__ import annotations

import json

import pytest
from run_helpers import tiny_config

from benchmark.errors import ResultsError
from benchmark.store.results_file import COLUMNS, ORIGIN, ResultsFile, result_rows
from benchmark.store.run_directory import RunDirectory


def _rows(config, loss: str, repeat: int, value: float, **details) -> list[dict]:
    metrics = {"map_at_r": value, "precision_at_1": value + 0.1}
    return result_rows(
        config,
        loss,
        loss.upper(),
        repeat,
        "separated",
        128,
        metrics,
        params={"alpha": 0.5},
        seeds=[1, 2],
        **details,
    )


def test_rows_round_trip_with_json_columns(tmp_path, tiny_overrides):
    config = tiny_config(tiny_overrides)
    results = ResultsFile(RunDirectory(tmp_path))
    results.append(_rows(config, "mfcwms", 0, 0.25))
    rows = results.read()
    assert [column for column in rows.columns if column != ORIGIN] == COLUMNS and len(rows) == 2
    assert rows["value"].tolist() == [0.25, pytest.approx(0.35)]
    assert json.loads(rows["params"][0]) == {"alpha": 0.5} and json.loads(rows["seeds"][0]) == [
        1,
        2,
    ]
    assert set(rows["dataset"]) == {"synthetic"} and set(rows["protocol"]) == {"demo"}


def test_a_repeat_is_never_written_twice(tmp_path, tiny_overrides):
    config = tiny_config(tiny_overrides)
    results = ResultsFile(RunDirectory(tmp_path))
    results.append(_rows(config, "mfcwms", 0, 0.25))
    results.append(_rows(config, "mfcwms", 0, 0.99) + _rows(config, "mfcwms", 1, 0.3))
    rows = results.read()
    assert results.completed_repeats_by_loss() == {"mfcwms": {0, 1}}
    assert rows.loc[rows["repeat"] == 0, "value"].tolist() == [0.25, pytest.approx(0.35)]


def test_completed_repeats_of_every_loss_from_one_read(tmp_path, tiny_overrides):
    config = tiny_config(tiny_overrides)
    results = ResultsFile(RunDirectory(tmp_path))
    assert results.completed_repeats_by_loss() == {}
    results.append(_rows(config, "mfcwms", 0, 0.2) + _rows(config, "mfcwms", 2, 0.3))
    results.append(_rows(config, "untrained", 1, 0.1))
    assert results.completed_repeats_by_loss() == {"mfcwms": {0, 2}, "untrained": {1}}


def test_missing_repeats_are_those_not_whole_or_searched_under_another_budget(
    tmp_path, tiny_overrides
):
    config = tiny_config([*tiny_overrides, "retrain.repeats=3"])
    budget = config.study.search_budget
    assert budget is not None
    results = ResultsFile(RunDirectory(tmp_path))
    assert results.missing_repeats(config, ["mfcwms"]) == {"mfcwms": [0, 1, 2]}
    searched = {"params_source": "search"}
    results.append(
        _rows(config, "mfcwms", 0, 0.2, **searched, n_trials=budget)
        + _rows(config, "mfcwms", 2, 0.3, **searched, n_trials=budget + 1)
    )
    results.append(_rows(config, "untrained", 1, 0.1, params_source="none"))
    assert results.missing_repeats(config, ["mfcwms", "untrained", "cwms"]) == {
        "mfcwms": [1, 2],
        "untrained": [0, 2],
        "cwms": [0, 1, 2],
    }


def test_unknown_columns_are_refused(tiny_overrides):
    with pytest.raises(ValueError, match="unknown result columns"):
        result_rows(
            tiny_config(tiny_overrides), "x", "X", 0, "separated", 8, {"map_at_r": 0.1}, colour=1
        )


def test_appending_writes_the_rows_already_there_back_character_for_character(
    tmp_path, tiny_overrides
):
    config = tiny_config(tiny_overrides)
    results = ResultsFile(RunDirectory(tmp_path))
    results.append(_rows(config, "mfcwms", 0, 0.1 + 0.2))  # 0.30000000000000004
    before = results.path.read_text()
    results.append(_rows(config, "cwms", 0, 0.5))
    assert results.path.read_text().startswith(before)


def test_a_malformed_results_file_is_one_error_and_is_not_rewritten(tmp_path, tiny_overrides):
    config = tiny_config(tiny_overrides)
    results = ResultsFile(RunDirectory(tmp_path))
    results.append(_rows(config, "mfcwms", 0, 0.25))
    broken = results.path.read_text().replace(",0,separated,", ",x,separated,", 1)
    results.path.write_text(broken)
    with pytest.raises(ResultsError, match=r"results.csv, line 2: column 'repeat' must be"):
        results.completed_repeats_by_loss()
    with pytest.raises(ResultsError, match="column 'repeat'"):
        results.append(_rows(config, "cwms", 0, 0.5))
    assert results.path.read_text() == broken


def test_reading_an_empty_run_directory_creates_nothing(tmp_path):
    results = ResultsFile(RunDirectory(tmp_path / "run"))
    assert results.read().empty and results.completed_repeats_by_loss() == {}
    assert not (tmp_path / "run").exists()
