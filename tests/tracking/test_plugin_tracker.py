"""A tracker of the user's own, from a plugin file, reaches every process of a run: recorded in
run.json with the plugin, it logs the trials of an `mlrc worker` and the folds of an
`mlrc retrain` started cold from the run directory."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tracking_helpers import FOLDS, LOSS, REPEATS, TRIALS, fold_curves, tracked_overrides

from benchmark.config import load_protocol
from benchmark.plugins import load_plugin
from benchmark.search.context import StudyContext
from benchmark.store.run_directory import RunDirectory
from benchmark.tracking.settings import TrackerRequest

pytestmark = pytest.mark.slow

DOCS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "guide" / "trackers.md"


def documented_plugin() -> str:
    """The plugin tracker of the docs' "Write your own tracker" (every call as a JSON line of
    <run dir>/tracking/jsonl/events.jsonl, with the process that made it)."""
    match = re.search(
        r"<!-- docs-test: file my_tracker.py -->\n```python\n(.*?)```", DOCS_PAGE.read_text(), re.S
    )
    assert match, f"{DOCS_PAGE} lost its tested my_tracker.py block"
    return match[1]


def _mlrc(*args: str) -> None:
    process = subprocess.run(
        [sys.executable, "-m", "benchmark.cli", *args, "--no-progress"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert process.returncode == 0, process.stderr


def test_a_plugin_tracker_logs_the_workers_and_retrains_started_cold(tmp_path, tiny_overrides):
    plugin = tmp_path / "my_tracker.py"
    plugin.write_text(documented_plugin())
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
