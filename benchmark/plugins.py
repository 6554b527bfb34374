"""Load users' own losses, datasets and trunks from a Python file or module (``mlrc --plugin FILE``)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import zlib
from pathlib import Path
from types import ModuleType

from benchmark.errors import PluginError


def load_plugin(target: str) -> ModuleType:
    """Import ``target`` (a ``.py`` file or a dotted module name) so its losses, datasets, trunks register.

    Importing a file twice returns the module already loaded, so several commands in one
    process (and a study that records its plugins for its workers) can load it freely.
    """
    if target.endswith(".py") or Path(target).is_file():
        path = Path(target).resolve()
        if not path.is_file():
            raise PluginError(f"plugin file not found: {target}; pass the path of a .py file")
        module_name = f"mlrc_plugin_{path.stem}_{zlib.crc32(str(path).encode()):08x}"
        if module_name in sys.modules:
            return sys.modules[module_name]
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise PluginError(f"cannot import plugin {path}: not a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[module_name]
            raise PluginError(
                f"plugin {path} failed to import: {type(exc).__name__}: {exc}"
            ) from exc
        return module
    try:
        return importlib.import_module(target)
    except Exception as exc:
        raise PluginError(
            f"plugin module '{target}' failed to import: {type(exc).__name__}: {exc}; "
            "pass a .py file path or a module on PYTHONPATH"
        ) from exc
