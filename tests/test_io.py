"""benchmark.io: atomic writes never leave a partial file; the file lock serialises processes."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

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


_HOLD = """
import sys, time
from pathlib import Path
from benchmark.io import file_lock
with file_lock(Path(sys.argv[1])):
    Path(sys.argv[2]).write_text(str(time.time()))
    time.sleep(float(sys.argv[3]))
    Path(sys.argv[2]).write_text(str(time.time()))
    sys.stdout.write("released\\n")
    sys.stdout.flush()
    time.sleep(0.3)  # still inside for a moment after saying so: a waiter must not be in yet
"""


def _holder(tmp_path, seconds: float) -> tuple[subprocess.Popen, Path]:
    lock, stamp = tmp_path / "locks" / "slow.lock", tmp_path / "held-until"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(lock), str(stamp), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while not stamp.exists() and time.time() < deadline:
        time.sleep(0.01)
    assert stamp.exists(), "the holder never took the lock"
    return holder, lock


def test_a_lock_is_never_broken_while_its_holder_is_alive_however_long_it_holds_it(
    tmp_path, monkeypatch
):
    # Before locks were fcntl locks, a lock held longer than STALE_LOCK_SECONDS (30) was broken
    # by the next waiter; shrunk here to 1 s, where that setting still exists.
    monkeypatch.setattr("benchmark.io.STALE_LOCK_SECONDS", 1, raising=False)
    holder, lock = _holder(tmp_path, seconds=3)
    with file_lock(lock):
        entered = time.time()
    holder.wait(timeout=30)
    assert holder.stdout.read() == "released\n"
    released = float((tmp_path / "held-until").read_text())  # written just before releasing
    assert entered >= released + 0.25, "the waiter entered while the holder was inside"


def test_a_lock_whose_holder_dies_is_free_at_once(tmp_path):
    holder, lock = _holder(tmp_path, seconds=600)
    holder.kill()
    holder.wait()
    start = time.time()
    with file_lock(lock):
        waited = time.time() - start
    assert waited < 2, f"waited {waited:.1f} s for the lock of a dead process"


def test_a_lock_can_be_tried_once_and_names_its_holder(tmp_path):
    from benchmark.io import LockTimeout, read_lock_note, write_lock_note

    lock = tmp_path / "submit.lock"
    with file_lock(lock):
        write_lock_note(lock, "pid 1 on node-a")
        with file_lock(lock):  # nested in the same thread: allowed
            pass
        error = []
        thread = threading.Thread(target=lambda: _try(lock, error))
        thread.start()
        thread.join()
        assert error == ["LockTimeout"], "another thread took a lock this thread holds"
    holder, lock = _holder(tmp_path, seconds=5)
    with pytest.raises(LockTimeout), file_lock(lock, timeout=0):
        pass
    holder.kill()
    holder.wait()
    assert read_lock_note(tmp_path / "submit.lock") == "pid 1 on node-a"


def _try(lock: Path, error: list) -> None:
    from benchmark.io import LockTimeout

    try:
        with file_lock(lock, timeout=0.2):
            pass
    except LockTimeout:
        error.append("LockTimeout")
