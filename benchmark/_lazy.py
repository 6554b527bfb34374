"""Package exports loaded on first use (PEP 562), so that importing a package costs nothing.

A package's ``__init__`` names what it exports and the submodule that defines each name; the
submodule is imported only when one of its names is first read::

    __all__, __getattr__, __dir__ = lazy_exports(__name__, {"results_file": ("ResultsFile",)})

A name exported from the submodule of the same name (``benchmark.engine.retrieval_metrics``, the
function of module ``retrieval_metrics``) stays the function once that module is imported, as an
eager ``from .retrieval_metrics import retrieval_metrics`` would leave it.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any


class _LazyPackage(types.ModuleType):
    """A package module whose exported names win over its submodules' bindings: importing
    submodule ``m`` sets the package's attribute ``m`` to the module, which would hide an
    exported ``m`` defined in it."""

    def __setattr__(self, name: str, value: Any) -> None:
        owner = self.__dict__.get("_lazy_owner", {})
        if isinstance(value, types.ModuleType) and owner.get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


def lazy_exports(
    package: str, exports: Mapping[str, Sequence[str]]
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``(__all__, __getattr__, __dir__)`` for ``package``; ``exports`` maps each submodule
    (relative name) to the public names it defines."""
    owner = {name: module for module, names in exports.items() for name in names}
    module_object = sys.modules[package]
    module_object._lazy_owner = owner  # type: ignore[attr-defined]
    module_object.__class__ = _LazyPackage

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
