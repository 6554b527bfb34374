"""The tracker registry: ``--tracker NAME`` names a factory registered here.

The built-in trackers (``mlflow``, ``tensorboard``, ``wandb``) register themselves on the first
lookup; a plugin file registers its own the same way (``mlrc --plugin my_tracker.py run
--tracker mine``)::

    @register_tracker("mine")
    def build_mine(target: TrackerTarget) -> Tracker:
        return MyTracker(target.folder)

A factory imports its library and checks what it can without I/O; a missing library raises
:class:`~benchmark.errors.ConfigError` (with the install line), before any training starts.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from types import ModuleType

from benchmark.errors import ConfigError
from benchmark.tracking.tracker import Tracker, TrackerTarget

TrackerFactory = Callable[[TrackerTarget], Tracker]

_BUILTIN_MODULES = (
    "benchmark.tracking.mlflow_tracker",
    "benchmark.tracking.tensorboard_tracker",
    "benchmark.tracking.wandb_tracker",
)
_REGISTRY: dict[str, TrackerFactory] = {}


def register_tracker(name: str) -> Callable[[TrackerFactory], TrackerFactory]:
    """Register the decorated factory as the tracker ``name`` (``--tracker name``)."""
    if not name or name == "none" or not name.replace("-", "_").isidentifier():
        raise ConfigError(
            f"tracker name {name!r} is not usable: give letters, digits, - or _ (not 'none')"
        )

    def decorate(factory: TrackerFactory) -> TrackerFactory:
        _REGISTRY[name] = factory
        return factory

    return decorate


def _load_builtins() -> None:
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)  # registers on first import only


def tracker_names() -> list[str]:
    """Every registered tracker, built-ins and plugins."""
    _load_builtins()
    return sorted(_REGISTRY)


def build_tracker(name: str, target: TrackerTarget) -> Tracker:
    """The tracker ``name`` for ``target`` (unknown names and missing libraries raise
    :class:`~benchmark.errors.ConfigError`)."""
    _load_builtins()
    factory = _REGISTRY.get(name)
    if factory is None:
        raise ConfigError(
            f"--tracker {name}: no such tracker; choose one of {', '.join(tracker_names())} "
            "or none (a plugin may register more: mlrc --plugin FILE)"
        )
    tracker = factory(target)
    if not isinstance(tracker, Tracker):
        raise ConfigError(
            f"tracker {name}: its factory returned {type(tracker).__name__}, which lacks "
            "start_run, log_metrics, end_run or close"
        )
    return tracker


def require_module(module: str, tracker: str, install: str) -> ModuleType:
    """Import ``module`` for the tracker ``tracker``, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"--tracker {tracker} needs {module}, which is not installed ({exc}): "
            f"pip install {install}"
        ) from None


@contextlib.contextmanager
def registry_restored() -> Iterator[None]:
    """Undo registrations made inside the block (tests register trackers of their own)."""
    _load_builtins()
    saved = dict(_REGISTRY)
    try:
        yield
    finally:
        _REGISTRY.clear()
        _REGISTRY.update(saved)
