"""``mlrc data``: the registered datasets (``list``) and a check of a dataset tree (``check``)."""

from __future__ import annotations

import argparse
import json

from benchmark.cli._common import add_command, load_registered_protocol


def register(commands: argparse._SubParsersAction) -> None:
    data = commands.add_parser("data", help="dataset utilities")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="COMMAND")
    listing = add_command(
        data_commands,
        "data list",
        "list the registered datasets with their table label and expected layout",
        _list,
    )
    output = listing.add_mutually_exclusive_group()
    output.add_argument(
        "--json", action="store_true", help="print one JSON list instead of a table"
    )
    output.add_argument(
        "--markdown", action="store_true", help="print one Markdown table (the README's table)"
    )
    check = add_command(
        data_commands,
        "data check",
        "validate a dataset tree: every problem, class/image counts, split and folds",
        _check,
        description=None,
    )
    check.add_argument(
        "--dataset",
        required=True,
        help="cub, cars196, sop, inshop, folder, synthetic, or one a --plugin registers",
    )
    check.add_argument("--root", default=None, help="dataset root directory")
    check.add_argument("--protocol", default="mlrc", help="protocol whose data settings to use")
    check.add_argument("--json", action="store_true", help="print one JSON object for scripts")


def _list(args: argparse.Namespace) -> int:
    from benchmark.data import list_datasets

    specs = list_datasets()
    if args.json:
        entries = [
            {
                "name": spec.name,
                "display": spec.display,
                "layout": spec.layout,
                "official_split": spec.official_split.__name__,
                "needs_root": spec.needs_root,
            }
            for spec in specs
        ]
        print(json.dumps(entries, indent=2))
    elif args.markdown:
        print(_markdown_table(specs), end="")
    else:
        width = max(len(spec.name) for spec in specs)
        label = max(len(spec.display) for spec in specs)
        print(f"{'name':<{width}}  {'table':<{label}}  layout")
        for spec in specs:
            print(f"{spec.name:<{width}}  {spec.display:<{label}}  {spec.layout}")
    return 0


def _markdown_table(specs: list) -> str:
    """One Markdown table of ``specs``: the ``--dataset`` name, table label and layout."""
    lines = ["| `--dataset` | Table label | `--root` holds |", "| --- | --- | --- |"]
    for spec in specs:
        layout = spec.layout.replace("|", "\\|")
        lines.append(f"| `{spec.name}` | {spec.display} | `{layout}` |")
    return "\n".join(lines) + "\n"


def _check(args: argparse.Namespace) -> int:
    from benchmark.config import load_protocol
    from benchmark.data import run_data_check
    from benchmark.errors import UnknownDatasetError

    try:
        config = load_registered_protocol(args.protocol, args.dataset)
    except UnknownDatasetError:  # the check reports it, in its own format (--json included)
        config = load_protocol(args.protocol, args.dataset)
    return run_data_check(config.dataset, args.root, as_json=args.json, config=config.data)
