"""A tracker of the user's own, from a plugin file, reaches every process of a run: recorded in
run.json with the plugin, it logs the trials of an `mlrc worker` and the folds of an
`mlrc retrain` started cold from the run directory."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from tracking_helpers import FOLDS, LOSS, REPEATS, TRIALS, fold_curves, tracked_overrides

from benchmark.config import load_protocol
from benchmark.plugins import load_plugin
from benchmark.search.context import StudyContext
from benchmark.store.run_directory import RunDirectory
from benchmark.tracking.settings import TrackerRequest

pytestmark = pytest.mark.slow

PLUGIN = '''
    """Appends every tracker call to <run dir>/tracking/jsonl/events.jsonl."""
    import json
    import os

    from benchmark.tracking import TrackerTarget, register_tracker


    class JsonLinesTracker:
        def __init__(self, folder):
            self.path = folder / "events.jsonl"

        def _write(self, **event):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as file:
                file.write(json.dumps({**event, "pid": os.getpid()}) + "\\n")

        def start_run(self, run):
            parent = run.parent.key if run.parent else None
            self._write(event="start", key=run.key, parent=parent, params=dict(run.params))

        def log_metrics(self, run, metrics, step):
            self._write(event="log", key=run.key, step=step, metrics=dict(metrics))

        def end_run(self, run, status, summary):
            self._write(event="end", key=run.key, status=status, summary=dict(summary))

        def close(self):
            pass


    @register_tracker("jsonl")
    def build_jsonl_tracker(target: TrackerTarget) -> JsonLinesTracker:
        return JsonLinesTracker(target.folder)
'''


def _mlrc(*args: str) -> None:
    process = subprocess.run(
        [sys.executable, "-m", "benchmark.cli", *args, "--no-progress"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert process.returncode == 0, process.stderr


def test_a_plugin_tracker_logs_the_workers_and_retrains_started_cold(tmp_path, tiny_overrides):
    plugin = tmp_path / "jsonl_tracker.py"
    plugin.write_text(textwrap.dedent(PLUGIN))
    load_plugin(str(plugin))
    run_dir = RunDirectory(tmp_path / "run")
    config = load_protocol("demo", "synthetic", tracked_overrides(tiny_overrides))
    StudyContext.create(config, run_dir, plugins=[str(plugin)], tracker=TrackerRequest("jsonl"))

    _mlrc("worker", "--run-dir", str(run_dir.path), "--loss", LOSS)
    _mlrc("retrain", "--run-dir", str(run_dir.path), "--loss", LOSS)

    lines = (run_dir.tracking_dir("jsonl") / "events.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    curves = fold_curves(run_dir.path)
    assert len(curves) == (TRIALS + REPEATS) * FOLDS
    pids = {key.split("/")[0]: set() for key in curves}
    for key, curve in curves.items():
        own = [event for event in events if event["key"] == key]
        assert [event["event"] for event in own] == ["start", *["log"] * len(curve), "end"]
        assert [event["step"] for event in own[1:-1]] == [row["iteration"] for row in curve]
        assert own[-1]["status"] == "finished"
        assert own[0]["params"]["fold"] == int(key[-1])
        pids[key.split("/")[0]].update(event["pid"] for event in own)
    assert len(pids["study"]) == 1 and len(pids["retrain"]) == 1
    assert pids["study"] != pids["retrain"]  # two processes, both started cold
