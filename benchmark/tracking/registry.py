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

import importlib
from collections.abc import Callable
from types import ModuleType

from benchmark.errors import ConfigError
from benchmark.registry import Registry
from benchmark.tracking.tracker import Tracker, TrackerTarget

TrackerFactory = Callable[[TrackerTarget], Tracker]

_BUILTINS = {
    "mlflow": ("benchmark.tracking.mlflow_tracker", "build_mlflow_tracker"),
    "tensorboard": ("benchmark.tracking.tensorboard_tracker", "build_tensorboard_tracker"),
    "wandb": ("benchmark.tracking.wandb_tracker", "build_wandb_tracker"),
}
"""The built-in trackers: registered on the first lookup (their modules import their libraries
only when a run starts), and again after a :func:`~benchmark.registry.registry_restored` block."""
_REGISTRY: Registry[TrackerFactory] = Registry("tracker")


def register_tracker(name: str) -> Callable[[TrackerFactory], TrackerFactory]:
    """Register the decorated factory as the tracker ``name`` (``--tracker name``)."""
    if not name or name == "none" or not name.replace("-", "_").isidentifier():
        raise ConfigError(
            f"tracker name {name!r} is not usable: give letters, digits, - or _ (not 'none')"
        )

    def decorate(factory: TrackerFactory) -> TrackerFactory:
        try:
            _REGISTRY.add(name, factory)
        except ValueError as exc:
            raise ConfigError(f"register_tracker({name!r}): {exc}") from None
        return factory

    return decorate


def _load_builtins() -> None:
    for name, (module, factory) in _BUILTINS.items():
        if name not in _REGISTRY:
            _REGISTRY.add(name, getattr(importlib.import_module(module), factory))


def tracker_names() -> list[str]:
    """Every registered tracker, built-ins and plugins."""
    _load_builtins()
    return sorted(_REGISTRY.names())


def build_tracker(name: str, target: TrackerTarget) -> Tracker:
    """The tracker ``name`` for ``target`` (unknown names and missing libraries raise
    :class:`~benchmark.errors.ConfigError`)."""
    _load_builtins()
    factory = _REGISTRY.find(name)
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
