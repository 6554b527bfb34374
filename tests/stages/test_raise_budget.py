"""One run, one budget: a changed budget is refused, --raise-budget raises it for every loss (rows
record the budget they ran under; only repeats whose parameters changed are trained again), and
`mlrc run --losses L` prints the run's whole table."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from run_helpers import load_study, set_args

from benchmark.cli import main
from benchmark.search.study_factory import best_params

pytestmark = pytest.mark.slow


def _fit_times(run_dir, loss: str, repeat: int) -> dict:
    folder = run_dir / "retrain" / loss / f"repeat_{repeat}"
    return {p: p.stat().st_mtime_ns for p in folder.rglob("result.json")}


def _rows(run_dir) -> pd.DataFrame:
    return pd.read_csv(run_dir / "results.csv", dtype=str, keep_default_na=False)


def test_a_run_keeps_one_budget_and_raising_it_retrains_only_what_changed(
    tmp_path, tiny_overrides, capsys
):
    run_dir = tmp_path / "run"
    overrides = [*tiny_overrides, "study.n_trials=2"]
    run = ["run", "--losses", "contrastive", "--run-dir", str(run_dir), "--no-progress"]
    assert main([*run, *set_args(overrides)]) == 0
    rows = _rows(run_dir)
    assert set(rows.loc[rows["loss"] == "contrastive", "n_trials"]) == {"2"}
    assert set(rows.loc[rows["loss"] == "untrained", "n_trials"]) == {""}
    written = (run_dir / "results.csv").read_bytes()

    # Repeats recorded without a budget (an older file): repeat 0 was trained with the study's
    # choice (its budget is recorded, nothing retrained), repeat 1 with other parameters (its
    # fits are removed and it is trained again, to the same values).
    rows.loc[rows["loss"] == "contrastive", "n_trials"] = ""
    other = (rows["loss"] == "contrastive") & (rows["repeat"] == "1")
    rows.loc[other, "params"] = json.dumps({"margin": 0.5})
    rows.to_csv(run_dir / "results.csv", index=False)
    kept, redone = _fit_times(run_dir, "contrastive", 0), _fit_times(run_dir, "contrastive", 1)
    assert main(["retrain", "--run-dir", str(run_dir), "--loss", "contrastive"]) == 0
    assert _fit_times(run_dir, "contrastive", 0) == kept
    assert all(t > redone[p] for p, t in _fit_times(run_dir, "contrastive", 1).items())
    assert (run_dir / "results.csv").read_bytes() == written
    capsys.readouterr()

    manifest = (run_dir / "run.json").read_text()
    raised = [*set_args([*tiny_overrides, "study.n_trials=3"])]
    assert main([*run, *raised]) == 2  # a changed budget: refused by name
    err = capsys.readouterr().err.strip()
    assert "study.n_trials: 2 -> 3" in err and "--raise-budget" in err
    assert len(err.splitlines()) == 1 and (run_dir / "run.json").read_text() == manifest

    assert main([*run, "--raise-budget", *raised]) == 0
    study = load_study(run_dir, "contrastive")
    assert len([t for t in study.trials if t.state.name == "COMPLETE"]) == 3
    rows = _rows(run_dir)
    contrastive = rows[rows["loss"] == "contrastive"]
    assert set(contrastive["n_trials"]) == {"3"} and len(contrastive) == 12
    assert set(contrastive["params"]) == {json.dumps(best_params(study), sort_keys=True)}
    capsys.readouterr()

    assert main([*run, *set_args(overrides)]) == 2  # the old budget: never lowered
    assert "never lowered" in capsys.readouterr().err


def test_run_losses_prints_and_writes_the_whole_table_of_the_run(tmp_path, tiny_overrides, capsys):
    run_dir = tmp_path / "run"
    overrides = [*tiny_overrides, "study.n_trials=1", "study.sampler.n_startup_trials=1"]
    run = ["run", "--losses", "contrastive", "--run-dir", str(run_dir), "--no-progress"]
    assert main([*run, *set_args(overrides)]) == 0
    rows = _rows(run_dir)
    other = rows[rows["loss"] == "contrastive"].assign(loss="cwms", display="CWMS")
    pd.concat([rows, other]).to_csv(run_dir / "results.csv", index=False)  # another loss's
    capsys.readouterr()

    assert main([*run, *set_args(overrides)]) == 0  # contrastive only: nothing left to do
    printed = capsys.readouterr().out
    for label in ("Cont.", "CWMS", "no training"):
        assert f"| {label} |" in printed
        assert f"| {label} |" in (run_dir / "table.md").read_text()
