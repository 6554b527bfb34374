"""``mlrc losses``: the registered losses with their kind, parameters and search space."""

from __future__ import annotations

import argparse
import json

from benchmark.cli._common import add_command


def register(commands: argparse._SubParsersAction) -> None:
    losses = add_command(
        commands, "losses", "list the registered losses with kind, parameters and search space", _losses
    )
    losses.add_argument("--json", action="store_true", help="print one JSON list instead of a table")


def _losses(args: argparse.Namespace) -> int:
    from benchmark.errors import ConfigError
    from benchmark.losses import list_losses
    from benchmark.losses.search_space import load_search_space

    entries = []
    for spec in list_losses():
        try:
            space = load_search_space(spec).describe()
        except ConfigError as exc:
            space = f"INVALID: {exc}"
        entries.append(
            {
                "name": spec.name,
                "display": spec.display,
                "kind": spec.kind,
                "batch": f"{spec.images_per_class} image(s) per class",
                "parameters": spec.has_parameters,
                "search_space": space,
                "file": str(spec.search_space_path),
            }
        )
    if args.json:
        print(json.dumps(entries, indent=2))
        return 0
    width = max(len(e["name"]) for e in entries)
    print(f"{'name':<{width}}  {'table':<11} {'kind':<14} {'params':<6}  search space")
    for e in entries:
        params = "yes" if e["parameters"] else "no"
        print(f"{e['name']:<{width}}  {e['display']:<11} {e['kind']:<14} {params:<6}  {e['search_space']}")
    return 0
