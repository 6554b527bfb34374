"""``mlrc losses``: the registered losses with their kind, parameters and search space, and
where each search space comes from (``mlrc2020``, ``paper``, ``this project``)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from benchmark.cli._common import add_command

if TYPE_CHECKING:
    from benchmark.losses import LossSpec


def register(commands: argparse._SubParsersAction) -> None:
    losses = add_command(
        commands,
        "losses",
        "list the registered losses with kind, parameters and search space",
        _losses,
    )
    losses.add_argument(
        "--dataset",
        default=None,
        help="show the search spaces resolved for this dataset (e.g. sop); default: the default ranges",
    )
    losses.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="show the search spaces resolved for this batch size (e.g. 256: FastAP's wider "
        "range); default: the default ranges",
    )
    output = losses.add_mutually_exclusive_group()
    output.add_argument(
        "--json", action="store_true", help="print one JSON list instead of a table"
    )
    output.add_argument(
        "--markdown",
        action="store_true",
        help="print the tables of docs/losses.md: one row per loss, then every search space on "
        "every dataset",
    )


def _losses(args: argparse.Namespace) -> int:
    from benchmark.errors import ConfigError
    from benchmark.losses import list_losses
    from benchmark.losses.listing import loss_table, search_space_table

    if args.markdown:
        if args.dataset is not None or args.batch_size is not None:
            raise ConfigError(
                "mlrc losses --markdown shows every dataset and batch size; drop --dataset "
                "and --batch-size"
            )
        print(loss_table(list_losses()) + "\n" + search_space_table(list_losses()), end="")
        return 0
    described = [_describe(spec, args.dataset, args.batch_size) for spec in list_losses()]
    if args.json:
        print(json.dumps([entry for entry, _ in described], indent=2))
        return 0
    width = max(len(entry["name"]) for entry, _ in described)
    label_width = max(len(entry["display"]) for entry, _ in described)
    resolved_for = [f"{args.dataset}"] * bool(args.dataset)
    resolved_for += [f"batch {args.batch_size}"] * (args.batch_size is not None)
    title = f"search space ({', '.join(resolved_for)})" if resolved_for else "search space"
    print(
        f"{'name':<{width}}  {'table':<{label_width}}  {'kind':<14} {'params':<6}  "
        f"{'from':<12}  {title}"
    )
    for e, summary in described:
        params = "yes" if e["has_parameters"] else "no"
        print(
            f"{e['name']:<{width}}  {e['display']:<{label_width}}  {e['kind']:<14} {params:<6}  "
            f"{e['origin'] or '':<12}  {summary}"
        )
    return 0


def _describe(
    spec: LossSpec, dataset: str | None, batch_size: int | None = None
) -> tuple[dict[str, Any], str]:
    """One loss as plain data, its search space resolved for ``dataset`` and ``batch_size``, and
    a one-line summary.

    A broken search-space file is reported in ``error``; the other losses are still listed.
    """
    from benchmark.errors import ConfigError, UnknownDatasetError
    from benchmark.losses.listing import origin_label
    from benchmark.losses.search_space import load_search_space

    entry: dict[str, Any] = {
        "name": spec.name,
        "display": spec.display,
        "description": spec.description,
        "kind": spec.kind,
        "has_parameters": spec.has_parameters,
        "parameter_weight_decay": spec.parameter_weight_decay,
        "file": str(spec.search_space_path),
    }
    try:
        space = load_search_space(spec, dataset, batch_size=batch_size)
    except UnknownDatasetError:
        raise
    except ConfigError as exc:
        entry |= {"origin": None, "search_space": None, "fixed": None, "error": str(exc)}
        return entry, f"INVALID: {exc}"
    data = space.to_dict()
    entry |= {"origin": origin_label(space), "search_space": data["params"], "fixed": data["fixed"]}
    return entry, space.describe()
