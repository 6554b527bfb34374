"""What ``mlrc`` reports and where: one handler on stderr, its level from -v/-q or
``MLRC_LOG_LEVEL``; stdout is left to results (tables, JSON, listings).

The package's modules only log (``logging.getLogger(__name__)``); this is the one place that
configures handlers, once per command.
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.machinery
import importlib.util
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType

from tqdm import tqdm

from benchmark.errors import ConfigError
from benchmark.progress import stderr_is_terminal

LOG_LEVEL_VARIABLE = "MLRC_LOG_LEVEL"
LEVELS = {name: logging.getLevelName(name) for name in ("DEBUG", "INFO", "WARNING", "ERROR")}
PACKAGE = "benchmark"


def add_verbosity_arguments(parser: argparse.ArgumentParser, subcommand: bool = False) -> None:
    """-v/--verbose and -q/--quiet, accepted before the subcommand and after it."""
    # A subcommand's defaults would overwrite the values given before it: it sets none.
    verbose_default, quiet_default = (argparse.SUPPRESS,) * 2 if subcommand else (0, False)
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=verbose_default,
        help="also debug lines (each trial's value, each fit's epochs, Optuna's info); -vv: also "
        f"other libraries' debug lines (default: ${LOG_LEVEL_VARIABLE}, else warnings and "
        "progress)",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=quiet_default,
        help="only errors and the result: no progress, no warnings",
    )


def log_level(verbose: int, quiet: bool, environ: Mapping[str, str] = os.environ) -> int:
    """The level of the package's loggers: -q or -v if given, else ``MLRC_LOG_LEVEL``, else
    INFO (warnings and progress lines)."""
    if quiet and verbose:
        raise ConfigError("-q and -v contradict each other; pass one of them")
    if quiet:
        return logging.ERROR
    if verbose:
        return logging.DEBUG
    name = environ.get(LOG_LEVEL_VARIABLE, "").strip().upper()
    if not name:
        return logging.INFO
    if name not in LEVELS:
        raise ConfigError(
            f"{LOG_LEVEL_VARIABLE}={environ[LOG_LEVEL_VARIABLE]} is not a log level; "
            f"use one of {', '.join(LEVELS)}"
        )
    return LEVELS[name]


def configure_logging(level: int, verbose: int = 0) -> None:
    """Send log records (and Python warnings) to stderr: the package's from ``level``, other
    libraries' from WARNING (ERROR under -q, DEBUG under -vv).

    Optuna logs through the same handler, from WARNING; its INFO lines (a study created, a
    trial finished when it runs the loop itself) only repeat our progress lines, so they show
    from -v on, next to our DEBUG line of each trial's value and parameters. Calling this
    again replaces the previous configuration. Optuna is configured when it is first
    imported (now, if it already is), so a command that never needs it never loads it.
    """
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(_CompactFormatter(with_time=not stderr_is_terminal()))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose >= 2 else max(level, logging.WARNING))
    logging.getLogger(PACKAGE).setLevel(level)
    if verbose >= 2:
        optuna_level = logging.DEBUG
    else:
        optuna_level = logging.INFO if level <= logging.DEBUG else root.level
    _after_import("optuna", lambda optuna: _configure_optuna(optuna, optuna_level))
    logging.captureWarnings(True)


def _configure_optuna(optuna: ModuleType, level: int) -> None:
    """Optuna's records go to our handler (not its own), from ``level``."""
    optuna.logging.disable_default_handler()
    optuna.logging.enable_propagation()
    optuna.logging.set_verbosity(level)


def _after_import(name: str, configure: Callable[[ModuleType], None]) -> None:
    """``configure(module)`` now if top-level module ``name`` is imported, else right after its
    first import; a later call replaces a pending one."""
    sys.meta_path[:] = [f for f in sys.meta_path if getattr(f, "module", None) != name]
    if name in sys.modules:
        configure(sys.modules[name])
    else:
        sys.meta_path.insert(0, _ConfigureOnImport(name, configure))


class _ConfigureOnImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of one module to configure it once loaded."""

    def __init__(self, module: str, configure: Callable[[ModuleType], None]):
        self.module = module
        self._configure = configure

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.module:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        exec_module, configure = spec.loader.exec_module, self._configure

        def exec_then_configure(module: ModuleType) -> None:
            exec_module(module)
            configure(module)

        spec.loader.exec_module = exec_then_configure  # type: ignore[method-assign]
        return spec


class _StderrHandler(logging.Handler):
    """Writes each record to the current ``sys.stderr`` through ``tqdm.write``, so that a line
    goes above the progress bars instead of through them."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:
            self.handleError(record)


class _CompactFormatter(logging.Formatter):
    """``message`` for INFO, ``warning: message`` (or ``error:``, ``debug:``) otherwise; with a
    timestamp first when stderr is not a terminal (a Slurm log, a file)."""

    def __init__(self, with_time: bool):
        super().__init__(
            "%(asctime)s %(message)s" if with_time else "%(message)s", datefmt="%Y-%m-%d %H:%M:%S"
        )

    def formatMessage(self, record: logging.LogRecord) -> str:
        if record.levelno != logging.INFO:
            record = logging.makeLogRecord(record.__dict__)
            record.message = f"{record.levelname.lower()}: {record.message}"
        return super().formatMessage(record)
