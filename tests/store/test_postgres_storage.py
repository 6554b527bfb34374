"""PostgreSQL storage against a real server: workers share the budget exactly, and a killed
worker's trial is recovered. Start the server with tests/services/start_postgres.sh."""

from __future__ import annotations

import signal
import time
from urllib.parse import urlsplit

import optuna
import pytest
from optuna.trial import TrialState
from run_helpers import mlrc_process, tiny_config, trials_by_state
from service_checks import fresh_postgres_database

from benchmark.search.context import StudyContext
from benchmark.search.worker import run_worker
from benchmark.store.run_directory import RunDirectory, params_key
from benchmark.store.storage import open_storage
from benchmark.store.study_state import study_name

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_url():
    """A fresh database on the test server for one test (study names repeat across tests)."""
    with fresh_postgres_database("mlrc_test") as url:
        yield url


def _run_dir(tmp_path, overrides, url: str, monkeypatch) -> RunDirectory:
    """A run on ``url``, created like `mlrc slurm submit` does: the storage is opened (its
    tables created) once before any worker starts. run.json keeps the URL without its
    password: workers started cold read it from PGPASSWORD, as from ~/.pgpass on a cluster."""
    monkeypatch.setenv("PGPASSWORD", urlsplit(url).password or "")
    run_dir = RunDirectory(tmp_path / "run")
    open_storage(url, run_dir.journal_path)
    run_dir.initialise(tiny_config(overrides), [], url)
    return run_dir


def _study(run_dir: RunDirectory, url: str, loss: str = "contrastive") -> optuna.Study:
    name = study_name(run_dir.protocol(), loss)
    return optuna.load_study(study_name=name, storage=open_storage(url, run_dir.journal_path))


def test_three_workers_on_postgres_meet_the_budget_exactly(
    tmp_path, tiny_overrides, postgres_url, monkeypatch
):
    run_dir = _run_dir(tmp_path, [*tiny_overrides, "study.n_trials=4"], postgres_url, monkeypatch)
    args = ["worker", "--run-dir", str(run_dir.path), "--loss", "contrastive", "--no-progress"]
    workers = [mlrc_process([*args, "--storage", postgres_url]) for _ in range(3)]
    outputs = [worker.communicate(timeout=300)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0, 0], outputs

    study = _study(run_dir, postgres_url)
    assert len(trials_by_state(study)[TrialState.COMPLETE]) == 4
    assert len(study.trials) == 4, "the workers overshot the budget"
    assert len({tuple(sorted(t.params.items())) for t in study.trials}) == 4
    assert not run_dir.journal_path.exists(), "the workers used the journal, not PostgreSQL"


def test_a_killed_workers_trial_is_recovered_from_postgres(
    tmp_path, tiny_overrides, postgres_url, monkeypatch
):
    overrides = [
        *tiny_overrides,
        "study.n_trials=2",
        "study.heartbeat_interval=1",
        "study.grace_period=3",
    ]
    overrides += ["training.max_epochs=4", "training.patience_epochs=4"]
    run_dir = _run_dir(tmp_path, overrides, postgres_url, monkeypatch)  # URL from run.json
    worker = mlrc_process(["worker", "--run-dir", str(run_dir.path), "--loss", "contrastive"])
    trials_dir = run_dir.path / "trials" / "contrastive"
    deadline = time.time() + 120
    finished_fold = None
    while finished_fold is None and time.time() < deadline and worker.poll() is None:
        done = trials_dir.glob("*/fold_0/result.json")
        mid_trial = [p for p in done if not (p.parent.parent / "fold_3" / "result.json").exists()]
        finished_fold = mid_trial[0] if mid_trial else None
        time.sleep(0.02)
    assert finished_fold is not None, worker.communicate()[0]
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    finished_at = finished_fold.stat().st_mtime_ns

    run_worker(StudyContext.attach(run_dir, progress=False), "contrastive")

    states = trials_by_state(_study(run_dir, postgres_url))
    assert set(states) == {TrialState.COMPLETE, TrialState.FAIL}
    (lost,) = states[TrialState.FAIL]
    assert lost.user_attrs["failure"] == "worker_lost"
    assert len(states[TrialState.COMPLETE]) == 2
    (recovered,) = [
        t for t in states[TrialState.COMPLETE] if t.user_attrs.get("requeued_from") == lost.number
    ]
    assert recovered.params == lost.params
    assert finished_fold.parent.parent.name == params_key(recovered.user_attrs["loss_params"])
    assert finished_fold.stat().st_mtime_ns == finished_at, "a finished fold was trained again"
