"""benchmark.io: atomic writes never leave a partial file; the file lock serialises processes."""

from __future__ import annotations

import json
import multiprocessing
import os

import numpy as np
import pytest

from benchmark.io import (
    atomic_np_save,
    atomic_write_csv,
    atomic_write_json,
    atomic_write_text,
    file_lock,
)


def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "deep" / "state.json"
    atomic_write_json(path, {"a": 1})
    atomic_write_json(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]


def test_atomic_np_save_writes_what_np_save_writes(tmp_path):
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.save(tmp_path / "plain.npy", array)
    atomic_np_save(tmp_path / "atomic.npy", array)
    assert (tmp_path / "atomic.npy").read_bytes() == (tmp_path / "plain.npy").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atomic.npy", "plain.npy"]


def test_a_failed_write_keeps_the_old_content(tmp_path, monkeypatch):
    path = tmp_path / "table.md"
    atomic_write_text(path, "old")

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["table.md"]


def test_atomic_write_csv_writes_the_columns_in_order_and_leaves_out_other_keys(tmp_path):
    path = tmp_path / "rows.csv"
    rows = [{"b": 0.1 + 0.2, "a": "x, y", "extra": 1}, {"a": None, "b": 2}]
    atomic_write_csv(path, rows, ("a", "b"))
    assert path.read_bytes() == b'a,b\r\n"x, y",0.30000000000000004\r\n,2\r\n'
    atomic_write_csv(path, rows[1:], ("b",), lineterminator="\n")
    assert path.read_bytes() == b"b\n2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["rows.csv"]


def _increment(counter: str, lock: str, times: int) -> None:
    from pathlib import Path

    for _ in range(times):
        with file_lock(Path(lock)):
            value = int(Path(counter).read_text())
            Path(counter).write_text(str(value + 1))


def test_file_lock_serialises_read_modify_write_across_processes(tmp_path):
    counter, lock = tmp_path / "counter", tmp_path / "locks" / "counter.lock"
    counter.write_text("0")
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_increment, args=(str(counter), str(lock), 40)) for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    assert counter.read_text() == "120"
