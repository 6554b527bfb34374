"""The fault suite's case (i): a torn results.csv.

A writer that dies mid-write (a crash, a full disk, a copy cut short) leaves the file cut at any
byte. The finished run's results.csv is cut at many places (seeded random bytes, a line end
inside a repeat, the header); each time `mlrc tables` refuses a torn row with one line naming
the file and row (never a value read as 0), and `mlrc run` repairs the file: the same bytes as
before the cut, from the finished fits (none is trained again). Kept in its own file: the other
cases live in test_fault_suite.py and test_run_faults.py.
"""

from __future__ import annotations

import random
import time

import pytest
from run_helpers import set_args

from benchmark.cli import main

pytestmark = [pytest.mark.faults, pytest.mark.slow]

CUTS = 10  # random cut points, besides a line end inside a repeat and the header


def _fit_times(run_dir) -> dict:
    return {p: p.stat().st_mtime_ns for p in run_dir.rglob("result.json")}


def _cut_points(text: str, seed: int = 0) -> list[tuple[str, int]]:
    """(kind, byte offset): random bytes past the header, a line end, inside the header."""
    header_end = text.index("\n") + 1
    rng = random.Random(seed)
    points = [("random", rng.randrange(header_end, len(text) - 1)) for _ in range(CUTS)]
    line_ends = [i + 1 for i, char in enumerate(text) if char == "\n"]
    points.append(("line end", line_ends[-3]))  # the last repeat loses its last two rows
    points.append(("header", header_end // 2))
    return points


def test_i_a_torn_results_csv_is_refused_by_tables_and_repaired_by_the_rerun(
    tmp_path, tiny_overrides, figures, capsys
):
    run_dir = tmp_path / "run"
    overrides = [*tiny_overrides, "study.n_trials=1", "study.sampler.n_startup_trials=1"]
    run = ["run", "--losses", "contrastive", "--run-dir", str(run_dir), "--no-progress"]
    run += set_args(overrides)
    assert main(run) == 0
    results = run_dir / "results.csv"
    whole = results.read_text()
    fits = _fit_times(run_dir)
    start = time.monotonic()
    refused = repaired = 0
    for kind, offset in _cut_points(whole):
        results.write_text(whole[:offset])
        capsys.readouterr()
        code = main(["tables", str(run_dir), "--out", str(tmp_path / "tables"), "--no-figures"])
        err = capsys.readouterr().err.strip()
        if not whole[:offset].endswith("\n"):  # a torn row: refused by name, never read
            assert code == 2 and len(err.splitlines()) == 1, (kind, offset, err)
            assert err.startswith(f"error: {results}, line ") and "torn row" in err
            refused += 1
        assert main(run) == 0, (kind, offset)
        assert results.read_text() == whole, f"{kind} cut at byte {offset} was not repaired"
        assert _fit_times(run_dir) == fits, "a finished fit was trained again"
        repaired += 1
    wall = time.monotonic() - start
    cuts = CUTS + 2
    figures(
        f"(i) a torn results.csv: {cuts} cuts ({CUTS} at random bytes, 1 at a line end inside a "
        f"repeat, 1 in the header); tables refused {refused} torn rows with one line each; the "
        f"rerun restored the same bytes {repaired} times, fits trained again 0; {wall:.0f} s"
    )
    assert repaired == cuts
