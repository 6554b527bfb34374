"""``mlrc gpu-check`` (``make gpu-check``): the CUDA path checked end to end, with one summary.

The checks live in :mod:`benchmark.cli.gpu_checks` (imported when the command runs: torch is not
loaded by ``mlrc --help``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.cli._common import add_command


def register(commands: argparse._SubParsersAction) -> None:
    gpu_check = add_command(
        commands,
        "gpu-check",
        "check the CUDA path end to end: a tiny run, GPU vs CPU metrics, profile train; "
        "without CUDA it says so and exits 0",
        _gpu_check,
    )
    gpu_check.add_argument(
        "--keep", type=Path, default=None, help="keep the run, tables and CSV in this folder"
    )


def _gpu_check(args: argparse.Namespace) -> int:
    from benchmark.cli.gpu_checks import run_gpu_check

    return run_gpu_check(args.keep)
