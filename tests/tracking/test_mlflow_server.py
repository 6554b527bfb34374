"""`--tracker mlflow --tracking-uri http://127.0.0.1:PORT`: a real `mlflow server` process over
HTTP, read back with mlflow.search_runs; and killed in the middle of a run, which finishes with
one warning and the same results."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from run_helpers import mlrc_process
from test_mlflow_tracker import assert_one_nested_run_per_fold_training
from tracking_helpers import need_extra, run_args, run_tiny, tracked_overrides

pytestmark = pytest.mark.slow

SERVER_START_S = 240  # uvicorn and MLflow's database set-up, on a loaded 2-core machine
WARNING = "tracker mlflow failed"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def mlflow_server(folder: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """An `mlflow server` on a free port of 127.0.0.1 (its own process group, killed after)."""
    need_extra("mlflow")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1"),
            *("--port", str(port), "--workers", "1"),
            *("--backend-store-uri", f"sqlite:///{folder / 'server.db'}"),
            *("--artifacts-destination", str(folder / "artifacts")),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + SERVER_START_S
        while not _healthy(url):
            assert server.poll() is None, (folder / "server.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "mlflow server did not start"
            time.sleep(0.5)
        yield url, server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        log.close()


def test_runs_reach_an_mlflow_server_over_http_and_a_killed_server_never_fails_a_run(
    tmp_path, tiny_overrides, untracked_results
):
    """One server (its start is most of the cost): a run tracked to the end, read back; then a
    second run during which the server is killed."""
    tracked, cut_off = tmp_path / "run", tmp_path / "cut-off"
    with mlflow_server(tmp_path) as (url, server):
        run_tiny(
            tracked,
            tracked_overrides(tiny_overrides),
            *("--tracker", "mlflow", "--tracking-uri", url),
        )
        assert_one_nested_run_per_fold_training(url, tracked)

        args = run_args(cut_off, tracked_overrides(tiny_overrides), "--tracker", "mlflow")
        process = mlrc_process([*args, "--tracking-uri", url])
        first_fold = next_finished_fit(cut_off, process)
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        output, _ = process.communicate(timeout=600)

    assert not (tracked / "tracking").exists()  # nothing went to the default store
    assert json.loads((tracked / "run.json").read_text())["tracker"] == {
        "name": "mlflow",
        "uri": url,
    }
    assert (tracked / "results.csv").read_bytes() == untracked_results

    assert first_fold is not None, output
    assert process.returncode == 0, output
    # One warning in all: the tracker's (none of the HTTP client's retries).
    warnings = [line for line in output.splitlines() if " warning: " in line]
    assert len(warnings) == 1, output
    assert WARNING in warnings[0] and "off for the rest of this process" in warnings[0]
    assert (cut_off / "results.csv").read_bytes() == untracked_results


def next_finished_fit(run_dir: Path, process: subprocess.Popen, timeout: float = 300):
    """The first trial fold the run finishes (logged to the server by then), or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        finished = sorted(run_dir.glob("trials/*/*/fold_*/result.json"))
        if finished:
            return finished[0]
        time.sleep(0.05)
    return None
