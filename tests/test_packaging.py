"""What pip installs: faiss is chosen by an extra, and the GPU extra never pulls faiss-cpu."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip(
    "tomllib", reason="tomllib is in the standard library from Python 3.11"
)
PYPROJECT = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())


def _names(requirements: list[str]) -> set[str]:
    return {
        re.split(r"[<>=!~\[;\s]", requirement, maxsplit=1)[0].lower()
        for requirement in requirements
    }


def test_the_base_install_has_no_faiss_and_each_extra_names_one_build():
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert not {n for n in _names(PYPROJECT["project"]["dependencies"]) if n.startswith("faiss")}
    assert _names(extras["gpu"]) == {"faiss-gpu"}
    assert _names(extras["cpu"]) == {"faiss-cpu"}
    assert "faiss-gpu" not in _names(extras["dev"])
