"""The fault suite: a sweep against what its cluster does to it, on the real services.

(a) one study task crashes by a planted exception -> one resubmit completes the sweep, with the
    results of an undisturbed one; (b) 16 workers on PostgreSQL and on the journal while a chaos
    loop SIGKILLs one every 1.5 s -> the budget is exact, no trial is lost or run twice; (c)
    PostgreSQL stopped for 30 s mid-sweep -> the workers wait and go on; (d) the journal's
    filesystem full -> one clear error, nothing torn, resumed once space is freed; (e) two
    submits at once -> one sweep. Each prints one line of figures (the README's table); CI runs
    it on the real single-node Slurm and PostgreSQL, as root (for the tmpfs).
"""

from __future__ import annotations

import json
import time

import pytest
from chaos import Sweep, chaos

pytestmark = [pytest.mark.faults, pytest.mark.slow]

# Short heartbeats and grace period: a SIGKILLed worker's trial is recovered within seconds.
FAST_RECOVERY = ["study.heartbeat_interval=1", "study.grace_period=3", "study.max_retries=10"]


def _chaos_sweep(tmp_path, storage: str | None, figures, what: str) -> None:
    overrides = [*FAST_RECOVERY, "study.n_trials=64", "study.sampler.n_startup_trials=64"]
    sweep = Sweep(tmp_path, overrides, storage, fold_s=1.0)
    start = time.monotonic()
    kills, resumed = chaos(sweep, workers=16, kill_every_s=1.5, max_kills=12)
    result = sweep.figures(what, 16, kills, resumed, time.monotonic() - start)
    figures(result.line())
    assert kills >= 5, "the chaos loop hardly ran"
    assert (result.lost, result.duplicated) == (0, 0), sweep.worker_logs()
    assert "Traceback" not in sweep.worker_logs()


def test_b_sixteen_workers_on_the_journal_survive_a_chaos_loop_of_sigkills(tmp_path, figures):
    _chaos_sweep(tmp_path, None, figures, "(b) 16 workers, journal, SIGKILL every 1.5 s")


@pytest.mark.postgres
def test_b_sixteen_workers_on_postgresql_survive_a_chaos_loop_of_sigkills(
    tmp_path, figures, postgres_database
):
    _chaos_sweep(
        tmp_path, postgres_database, figures, "(b) 16 workers, PostgreSQL, SIGKILL every 1.5 s"
    )


@pytest.mark.postgres
def test_c_workers_wait_while_postgresql_is_stopped_for_30_s_and_go_on(
    tmp_path, figures, private_postgres
):
    # The grace period bounds how long a worker waits for its storage: longer than the outage.
    overrides = ["study.heartbeat_interval=1", "study.grace_period=60", "study.n_trials=20"]
    overrides += ["study.sampler.n_startup_trials=20"]
    sweep = Sweep(tmp_path, overrides, private_postgres.url, fold_s=0.3)
    start = time.monotonic()
    workers = [sweep.start_worker() for _ in range(4)]
    while sweep.evaluations_done() < 4:
        assert all(w.is_alive() for w in workers), sweep.worker_logs()
        time.sleep(0.1)
    private_postgres.stop()
    down_at = time.monotonic()
    time.sleep(30)
    private_postgres.start()
    outage = time.monotonic() - down_at
    for worker in workers:
        worker.join(120)
    assert [w.exitcode for w in workers] == [0] * 4, sweep.worker_logs()
    logs = sweep.worker_logs()
    assert "waiting up to 60 s for the storage" in logs and "is back after" in logs, logs
    assert "Traceback" not in logs
    result = sweep.figures(
        "(c) 4 workers, PostgreSQL stopped mid-sweep",
        4,
        0,
        0,
        time.monotonic() - start,
        note=f"down {outage:.0f} s; the workers waited and went on",
    )
    figures(result.line())
    assert (result.lost, result.duplicated) == (0, 0)


def test_d_a_full_filesystem_under_the_journal_is_one_clear_error_and_tears_nothing(
    tmp_path, figures, small_tmpfs
):
    journal = small_tmpfs / "optuna.journal"
    overrides = [*FAST_RECOVERY, "study.n_trials=16", "study.sampler.n_startup_trials=16"]
    sweep = Sweep(tmp_path, overrides, f"journal://{journal}", fold_s=0.3)
    start = time.monotonic()
    workers = [sweep.start_worker() for _ in range(4)]
    while sweep.evaluations_done() < 3:
        assert all(w.is_alive() for w in workers), sweep.worker_logs()
        time.sleep(0.1)
    filler = small_tmpfs / "filler"
    with open(filler, "wb", buffering=0) as fill:  # the disk fills up under the running sweep
        try:
            while fill.write(b"\0" * 512):
                pass
        except OSError:
            pass
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [2] * 4, sweep.worker_logs()
    for worker in workers:
        log = worker.log.read_text()
        errors = [line for line in log.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "No space left on device" in errors[0], log
        assert "nothing is torn" in errors[0] and "Traceback" not in log
    lines = journal.read_bytes().splitlines(keepends=True)
    assert all(line.endswith(b"\n") and json.loads(line) for line in lines), "a torn line"

    filler.unlink()  # space is freed: run the same workers again
    resumed = [sweep.start_worker() for _ in range(4)]
    for worker in resumed:
        worker.join(120)
    assert [w.exitcode for w in resumed] == [0] * 4, sweep.worker_logs()
    result = sweep.figures(
        "(d) 4 workers, journal on a full 1 MiB tmpfs",
        4,
        0,
        4,
        time.monotonic() - start,
        note="each stopped with one error line; the journal stayed whole",
    )
    figures(result.line())
    assert (result.lost, result.duplicated) == (0, 0)
