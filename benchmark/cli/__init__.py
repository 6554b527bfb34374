"""The ``mlrc`` command line: one module per subcommand family.

Every subcommand's --help shows a real example. Results (tables, JSON, listings) go to stdout;
log lines (progress, warnings; -v/-q or ``MLRC_LOG_LEVEL`` choose how many) go to stderr. User
errors (bad config, unknown loss, missing data, unreachable storage, a full or read-only
disk, ...) print one line ``error: ...`` with the fix and exit with code 2. A command that ran to
its end while a requested loss gave no result prints one ``error:`` line per such loss and exits
with code 1; 130 is an interruption (Ctrl-C, SIGTERM, SIGUSR1), whose finished work is kept.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

from benchmark.cli import (
    ablate,
    data,
    gpu_check,
    loss_list,
    profile,
    slurm,
    stages,
    status,
    tables,
)
from benchmark.cli._common import EXAMPLES
from benchmark.cli._logging import add_verbosity_arguments, configure_logging, log_level
from benchmark.errors import BenchmarkError

__all__ = ["EXAMPLES", "build_parser", "main"]

_COMMAND_MODULES = (stages, ablate, tables, loss_list, data, profile, gpu_check, slurm, status)


def build_parser() -> argparse.ArgumentParser:
    """The ``mlrc`` parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="mlrc",
        description="Fair deep-metric-learning benchmark (MLRC protocol, mean-field losses).",
        epilog="example: " + EXAMPLES["run"],
    )
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="FILE_OR_MODULE",
        help="import a .py file or module that registers extra losses or datasets (repeatable)",
    )
    add_verbosity_arguments(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    previous = _stop_on_signals()
    try:
        configure_logging(log_level(args.verbose, args.quiet), args.verbose)
        from benchmark.plugins import load_plugin

        for plugin in args.plugin:
            load_plugin(plugin)
        return args.handler(args)
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted: finished work is saved; run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    except Exception as exc:  # a full or failing disk, wherever it was met
        from benchmark.io import describe_filesystem_outage, filesystem_outage

        outage = filesystem_outage(exc)
        if outage is None:
            raise
        print(
            f"error: {describe_filesystem_outage(outage)}, then run the same command to resume "
            "(finished work is kept)",
            file=sys.stderr,
        )
        return 2
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop_on_signals() -> dict[int, Any]:
    """SIGTERM and SIGUSR1 (a Slurm time limit, preemption or cancel) stop every command the way
    Ctrl-C does: finished work is saved, a worker hands its trial back, and the exit status is
    130. (Without this, SIGUSR1 killed retrain, ablation and tables jobs on the spot.) Returns
    the handlers it replaced."""

    def stop(signum: int, frame: object) -> None:
        for sig in (signal.SIGTERM, signal.SIGUSR1):  # a second signal must not cut the stop
            signal.signal(sig, signal.SIG_IGN)
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous: dict[int, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGUSR1):
        try:
            previous[sig] = signal.signal(sig, stop)
        except ValueError:  # not the main thread (main() called from a test's thread)
            break
    return previous
