"""``mlrc data check``: validate a dataset tree before training on it."""

from __future__ import annotations

import argparse

from benchmark.cli._common import add_command


def register(commands: argparse._SubParsersAction) -> None:
    data = commands.add_parser("data", help="dataset utilities")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="COMMAND")
    check = add_command(
        data_commands,
        "data check",
        "validate a dataset tree: every problem, class/image counts, split and folds",
        _check,
        description=None,
    )
    check.add_argument(
        "--dataset", required=True, help="cub, cars196, sop, inshop, folder, synthetic"
    )
    check.add_argument("--root", default=None, help="dataset root directory")
    check.add_argument("--protocol", default="mlrc", help="protocol whose data settings to use")
    check.add_argument("--json", action="store_true", help="print one JSON object for scripts")


def _check(args: argparse.Namespace) -> int:
    from benchmark.config import load_protocol
    from benchmark.data import run_data_check

    config = load_protocol(args.protocol, args.dataset)
    return run_data_check(args.dataset, args.root, as_json=args.json, config=config.data)
