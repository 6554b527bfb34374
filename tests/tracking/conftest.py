"""A tiny run without a tracker, once per session: every tracked run must give its results."""

from __future__ import annotations

import pytest
from tracking_helpers import run_tiny, tracked_overrides

from benchmark.cli.gpu_check import TINY_OVERRIDES


@pytest.fixture(scope="session")
def untracked_results(tmp_path_factory) -> bytes:
    run_dir = tmp_path_factory.mktemp("untracked") / "run"
    run_tiny(run_dir, tracked_overrides(list(TINY_OVERRIDES)))
    return (run_dir / "results.csv").read_bytes()
