"""Gathering an ablation point's rows: once, and again where the point's budget was raised."""

from __future__ import annotations

from run_helpers import tiny_config

from benchmark.config.ablation_grids import ABLATIONS
from benchmark.stages.ablations import gather_point
from benchmark.store.results_file import ResultsFile, result_rows
from benchmark.store.run_directory import RunDirectory


def _point_rows(config, value: float, n_trials: int) -> list[dict]:
    return [
        row
        for repeat in range(2)
        for row in result_rows(
            config, "mfcwms", "MFCWMS", repeat, "single", 128, {"map_at_r": value + repeat},
            params={"alpha": 1.0}, params_source="search", n_trials=n_trials,
        )
    ]  # fmt: skip


def test_a_point_gathered_under_a_lower_budget_is_gathered_again_after_a_raise(
    tmp_path, tiny_overrides
):
    config = tiny_config(tiny_overrides)
    ablation_dir = RunDirectory(tmp_path / "ablation")
    point = ablation_dir.point("mf_reg-0.1")
    setting = {"mf_reg": 0.1}
    ResultsFile(point).append(_point_rows(config, 0.2, n_trials=5))
    assert gather_point(ablation_dir, ABLATIONS["mf-reg"], setting, point) == 2
    assert gather_point(ablation_dir, ABLATIONS["mf-reg"], setting, point) == 0  # once

    # The point's budget was raised: its rows were retrained (other values) under 8 trials.
    point.results_path.unlink()
    ResultsFile(point).append(_point_rows(config, 0.3, n_trials=8))
    assert gather_point(ablation_dir, ABLATIONS["mf-reg"], setting, point) == 2
    rows = ResultsFile(ablation_dir).read()
    assert rows["n_trials"].tolist() == ["8", "8"] and rows["value"].tolist() == [0.3, 1.3]
