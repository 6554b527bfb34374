"""`mlrc slurm submit` keeps a run's budget like `mlrc run`: a changed one is refused before
anything is written or queued, --raise-budget raises it (the jobs read it from run.json)."""

from __future__ import annotations

import json

from run_helpers import set_args, tiny_config

from benchmark.cli import main
from benchmark.config import PROJECT_ROOT
from benchmark.store.run_directory import RunDirectory

EXAMPLE_PROFILE = PROJECT_ROOT / "slurm" / "profiles" / "example.yaml"


def test_a_submit_refuses_a_changed_budget_and_raises_it_only_with_the_flag(
    tmp_path, tiny_overrides, capsys, monkeypatch
):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch: a real submit stops after its checks
    run_dir = RunDirectory(tmp_path / "run")
    run_dir.initialise(tiny_config(tiny_overrides), [], None)  # study.n_trials = 3
    submit = ["slurm", "submit", "--losses", "contrastive", "--profile", str(EXAMPLE_PROFILE)]
    submit += ["--run-dir", str(run_dir.path)]
    raised = set_args([*tiny_overrides, "study.n_trials=5"])

    for dry_run in (["--dry-run"], []):
        assert main([*submit, *dry_run, *raised]) == 2
        err = capsys.readouterr().err.strip()
        assert "study.n_trials: 3 -> 5" in err and "--raise-budget" in err, err

    assert main([*submit, "--dry-run", "--raise-budget", *raised]) == 0
    script = (run_dir.path / "slurm" / "dry-run" / "study-contrastive.sbatch").read_text()
    assert "the 5 trials left of 5" in script  # planned under the raised budget
    assert json.loads(run_dir.manifest_path.read_text())["protocol"]["study"]["n_trials"] == 3
