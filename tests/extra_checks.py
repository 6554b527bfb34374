"""Tests that need an optional extra (timm, ...) skip without it, or fail where extras are
required.

CI installs the extras and sets ``MLRC_REQUIRE_EXTRAS=1``: a missing extra is then an error,
never a silent skip (as ``MLRC_REQUIRE_SERVICES=1`` does for services, tests/service_checks.py).
On a laptop without them pytest's summary (``-ra``) lists each skip with the install line.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

REQUIRE_EXTRAS = os.environ.get("MLRC_REQUIRE_EXTRAS") == "1"


def need_extra(module: str, extra: str) -> ModuleType:
    """The module ``module`` of the optional extra ``extra``; skips the calling test without it
    (fails instead where ``MLRC_REQUIRE_EXTRAS=1``)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        message = (
            f"the optional package {module} is not installed: pip install 'mlrc-benchmark[{extra}]'"
        )
        if REQUIRE_EXTRAS:
            pytest.fail(f"MLRC_REQUIRE_EXTRAS=1 but {message}", pytrace=False)
        pytest.skip(message)
