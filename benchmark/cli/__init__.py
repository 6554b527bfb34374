"""The ``mlrc`` command line: one module per subcommand family.

Every subcommand's --help shows a real example. User errors (bad config, unknown loss, missing
data, unreachable storage, ...) print one line ``error: ...`` with the fix and exit with code 2.
"""

from __future__ import annotations

import argparse
import sys

from benchmark.cli import (
    ablate,
    data,
    gpu_check,
    losses,
    profile,
    slurm,
    stages,
    status,
    tables,
)
from benchmark.cli._common import EXAMPLES
from benchmark.errors import BenchmarkError

__all__ = ["EXAMPLES", "build_parser", "main"]

_COMMAND_MODULES = (stages, ablate, tables, losses, data, profile, gpu_check, slurm, status)


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
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
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
