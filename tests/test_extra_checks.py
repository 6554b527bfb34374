"""A test needing a missing optional extra skips with the install line, and fails instead where
MLRC_REQUIRE_EXTRAS=1 (CI)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


@pytest.mark.parametrize(("required", "outcome"), [("0", "1 skipped"), ("1", "1 failed")])
def test_a_missing_extra_is_a_skip_unless_extras_are_required(tmp_path, required, outcome):
    (tmp_path / "test_needs_extra.py").write_text(
        "from extra_checks import need_extra\n\n"
        "def test_it():\n"
        "    need_extra('no_such_module_for_mlrc', 'fancy')\n"
    )
    env = {**os.environ, "MLRC_REQUIRE_EXTRAS": required, "PYTHONPATH": str(TESTS)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-rs", "-p", "no:cacheprovider", "-q", str(tmp_path)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert outcome in done.stdout, done.stdout
    assert "pip install 'mlrc-benchmark[fancy]'" in done.stdout
