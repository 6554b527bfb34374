"""Package exports loaded on first use (PEP 562), so that importing a package costs nothing.

A package's ``__init__`` names what it exports and the submodule that defines each name; the
submodule is imported only when one of its names is first read::

    __all__, __getattr__, __dir__ = lazy_exports(__name__, {"results_file": ("ResultsFile",)})
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, Sequence[str]]
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``(__all__, __getattr__, __dir__)`` for ``package``; ``exports`` maps each submodule
    (relative name) to the public names it defines."""
    owner = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = owner.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)  # read once: later reads skip this hook
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(owner))

    return sorted(owner), __getattr__, __dir__
