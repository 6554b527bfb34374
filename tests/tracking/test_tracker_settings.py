"""Which tracker a process logs to: the command line over what run.json recorded."""

from __future__ import annotations

import json

import pytest

from benchmark.cli import main
from benchmark.errors import ConfigError
from benchmark.tracking.settings import TrackerRequest, TrackerSettings, resolve_tracker

RECORDED = {"name": "mlflow", "uri": "http://127.0.0.1:5000"}


def test_a_process_without_a_request_logs_to_the_recorded_tracker():
    assert resolve_tracker(RECORDED, None) == TrackerSettings("mlflow", "http://127.0.0.1:5000")
    assert resolve_tracker(None, None) is None


def test_a_tracking_uri_alone_moves_the_recorded_tracker():
    request = TrackerRequest(uri="http://10.0.0.1:80")
    assert resolve_tracker(RECORDED, request) == TrackerSettings("mlflow", "http://10.0.0.1:80")


def test_another_tracker_does_not_inherit_the_recorded_uri():
    assert resolve_tracker(RECORDED, TrackerRequest("tensorboard")) == TrackerSettings(
        "tensorboard", None
    )


def test_tracker_none_turns_the_recorded_tracker_off():
    assert resolve_tracker(RECORDED, TrackerRequest("none")) is None


def test_a_tracking_uri_without_a_tracker_is_refused():
    with pytest.raises(ConfigError, match="add --tracker mlflow"):
        resolve_tracker(None, TrackerRequest(uri="http://127.0.0.1:5000"))


def test_a_tracking_uri_with_a_password_is_refused_without_printing_it():
    with pytest.raises(ConfigError, match="MLFLOW_TRACKING_PASSWORD") as error:
        resolve_tracker(None, TrackerRequest("mlflow", "http://me:s3cret@host:5000"))
    assert "s3cret" not in str(error.value)


def test_an_unknown_tracker_stops_the_run_before_anything_is_written(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["run", "--run-dir", str(run_dir), "--tracker", "nope", "--no-progress"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: --tracker nope: no such tracker; choose one of mlflow")
    assert "\n" not in error
    assert not run_dir.exists()


def test_a_missing_tracker_library_names_its_install_line(tmp_path, capsys):
    plugin = tmp_path / "absent_tracker.py"
    plugin.write_text(
        "from benchmark.tracking import register_tracker\n"
        "from benchmark.tracking.registry import require_module\n\n"
        "@register_tracker('absent')\n"
        "def build(target):\n"
        "    require_module('mlrc_no_such_module', 'absent', 'mlrc-absent-tracker')\n"
    )
    args = ["--plugin", str(plugin), "run", "--run-dir", str(tmp_path / "run")]
    assert main([*args, "--tracker", "absent", "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert "--tracker absent needs mlrc_no_such_module" in error
    assert "pip install mlrc-absent-tracker" in error


def test_run_json_records_the_tracker_and_a_resume_keeps_it(tmp_path, tiny_overrides):
    from benchmark.config import load_protocol
    from benchmark.search.context import StudyContext
    from benchmark.store.run_directory import RunDirectory
    from benchmark.tracking.guarded_tracker import NullTracker
    from benchmark.tracking.registry import register_tracker

    # A tracker of no library: the recording is the same for every tracker, installed or not.
    register_tracker("quiet")(lambda target: NullTracker())
    config = load_protocol("demo", "synthetic", tiny_overrides)
    run_dir = RunDirectory(tmp_path / "run")
    StudyContext.create(config, run_dir, tracker=TrackerRequest("quiet", str(tmp_path)))
    recorded = {"name": "quiet", "uri": str(tmp_path)}
    assert json.loads(run_dir.manifest_path.read_text())["tracker"] == recorded

    StudyContext.create(config, run_dir)  # resumed without --tracker
    assert run_dir.recorded_tracker() == recorded
    attached = StudyContext.attach(run_dir.path)
    assert attached.tracker_settings == TrackerSettings("quiet", str(tmp_path))
    assert (
        StudyContext.attach(run_dir.path, tracker=TrackerRequest("none")).tracker_settings is None
    )
    assert run_dir.recorded_tracker() == recorded  # a worker's override is its own

    StudyContext.create(config, run_dir, tracker=TrackerRequest("none"))
    assert run_dir.recorded_tracker() is None
