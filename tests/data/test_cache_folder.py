import json
import os
import time
from pathlib import Path

import pytest

from benchmark.data.cache_folder import MANIFEST, ensure_cached_folder

PARAMS = {"version": 1, "size": 3}


def _write_file(folder: Path) -> dict:
    (folder / "data.txt").write_text("content")
    return {"extra": "entry"}


def test_the_folder_is_written_with_a_manifest_and_reused(tmp_path):
    target = ensure_cached_folder(tmp_path, "thing", PARAMS, _write_file)
    assert target == tmp_path / "thing"
    assert (target / "data.txt").read_text() == "content"
    manifest = (target / MANIFEST).read_text()
    assert manifest == json.dumps({**PARAMS, "extra": "entry"}, indent=1) + "\n"
    assert [p.name for p in tmp_path.iterdir()] == ["thing"]

    def fail(folder: Path) -> None:
        raise AssertionError("rewrote a cached folder")

    assert ensure_cached_folder(tmp_path, "thing", PARAMS, fail) == target


def test_a_folder_with_another_manifest_is_replaced(tmp_path):
    (tmp_path / "thing").mkdir()
    (tmp_path / "thing" / MANIFEST).write_text(json.dumps({**PARAMS, "size": 4}))
    (tmp_path / "thing" / "old.txt").write_text("old")
    target = ensure_cached_folder(tmp_path, "thing", PARAMS, _write_file)
    assert sorted(p.name for p in target.iterdir()) == ["data.txt", MANIFEST]
    assert [p.name for p in tmp_path.iterdir()] == ["thing"]


def test_a_valid_folder_another_process_placed_meanwhile_is_kept(tmp_path):
    def races(folder: Path) -> None:
        _write_file(folder)
        other = tmp_path / "thing"  # the other process renames its finished folder into place
        other.mkdir()
        (other / MANIFEST).write_text(json.dumps(PARAMS))
        (other / "theirs.txt").write_text("theirs")

    target = ensure_cached_folder(tmp_path, "thing", PARAMS, races)
    assert (target / "theirs.txt").read_text() == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["thing"]


def test_a_killed_write_leaves_nothing_and_old_leftovers_are_removed(tmp_path):
    def dies(folder: Path) -> None:
        (folder / "half.txt").write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ensure_cached_folder(tmp_path, "thing", PARAMS, dies)
    assert list(tmp_path.iterdir()) == []

    old, fresh = tmp_path / ".thing.tmp-1-old", tmp_path / ".thing.tmp-2-fresh"
    old.mkdir()
    fresh.mkdir()  # another process may still be filling this one
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    ensure_cached_folder(tmp_path, "thing", PARAMS, _write_file)
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh.name, "thing"]
