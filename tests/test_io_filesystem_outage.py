"""A full, read-only or failing disk is an outage: it is told apart from every other error, the
file meant is named (not its temporary twin), and the CLI says so in one line, never a
traceback."""

from __future__ import annotations

import errno
import os

import pytest

from benchmark.cli import main
from benchmark.io import atomic_write_bytes, describe_filesystem_outage, filesystem_outage
from benchmark.store.run_directory import RunDirectory


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_failed_atomic_write_names_the_file_meant_and_leaves_nothing(tmp_path, monkeypatch):
    path = tmp_path / "fold_0" / "last.pt"
    monkeypatch.setattr(os, "fsync", _enospc)
    with pytest.raises(OSError) as failed:
        atomic_write_bytes(path, b"checkpoint")
    monkeypatch.undo()
    assert failed.value.filename == str(path)
    assert list(path.parent.iterdir()) == [], "a temporary file was left behind"
    assert describe_filesystem_outage(failed.value) == (
        f"cannot write {path}: No space left on device; free space on its filesystem"
    )


@pytest.mark.parametrize(
    ("code", "fix"),
    [
        (errno.ENOSPC, "free space on its filesystem"),
        (errno.EDQUOT, "raise your quota"),
        (errno.EROFS, "remount its filesystem read-write"),
        (errno.EIO, "check the disk"),
    ],
)
def test_storage_errors_are_outages_wherever_they_were_raised_from(code, fix):
    disk = OSError(code, os.strerror(code), "/run/x")
    try:
        try:
            raise disk
        except OSError as exc:
            raise RuntimeError("training failed") from exc
    except RuntimeError as wrapped:
        assert filesystem_outage(wrapped) is disk
    assert fix in describe_filesystem_outage(disk)


def test_other_errors_are_not_outages():
    assert filesystem_outage(OSError(errno.ENOENT, "No such file", "/x")) is None
    assert filesystem_outage(ValueError("bad")) is None


def test_a_full_disk_in_the_retrain_stage_is_one_line_not_a_traceback(
    tmp_path, tiny_overrides, monkeypatch, capsys
):
    from run_helpers import tiny_config

    run_dir = RunDirectory(tmp_path / "run")
    run_dir.initialise(tiny_config(tiny_overrides), [], None)

    def full(path, text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr("benchmark.store.results_file.atomic_write_text", full)
    args = ["retrain", "--run-dir", str(run_dir.path), "--loss", "untrained", "--no-progress"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert line == (
        f"error: cannot write {run_dir.results_path}: No space left on device; free space on its "
        "filesystem, then run the same command to resume (finished work is kept)"
    )
