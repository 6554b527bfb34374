"""Tests that need a real service (Slurm, PostgreSQL, pdflatex) skip without it, or fail in CI.

CI starts the services and sets ``MLRC_REQUIRE_SERVICES=1``: a missing service is then an error,
never a silent skip. On a laptop without them ``make test`` skips those tests and pytest's
summary (``-ra``) lists each skip with its reason.
"""

from __future__ import annotations

import os

import pytest

REQUIRE_SERVICES = os.environ.get("MLRC_REQUIRE_SERVICES") == "1"


def need_service(name: str, available: bool, how_to_get_it: str) -> None:
    """Skip the calling test when ``name`` is unavailable (fail instead in CI)."""
    if available:
        return
    message = f"{name} is not available here: {how_to_get_it}"
    if REQUIRE_SERVICES:
        pytest.fail(f"MLRC_REQUIRE_SERVICES=1 but {message}", pytrace=False)
    pytest.skip(message)
