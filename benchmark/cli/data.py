"""``mlrc data``: the registered datasets (``list``), a check of a dataset tree (``check``), and
building a protocol's image caches ahead of time (``cache``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.cli._common import add_command, load_registered_protocol, root_override

if TYPE_CHECKING:
    from benchmark.config.sections import ProtocolConfig
    from benchmark.data.fold_feasibility import BatchShape


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
        "--markdown",
        action="store_true",
        help="print one Markdown table (the table of docs/guide/real-datasets.md)",
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
    check.add_argument(
        "--protocol",
        default="mlrc",
        help="protocol whose data settings, folds and batches to check against",
    )
    check.add_argument(
        "--losses",
        default=None,
        help="the losses whose batches the folds must fill: comma-separated, 'all' or 'demo' "
        "(default: the protocol's list)",
    )
    check.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a protocol value, e.g. --set training.batch_size=16 (repeatable)",
    )
    check.add_argument("--json", action="store_true", help="print one JSON object for scripts")
    cache = add_command(
        data_commands,
        "data cache",
        "build a protocol's image caches (data.cache_images) ahead of time; print their size",
        _cache,
        description="Decode every image once, apply the deterministic first steps of the "
        "protocol's pipelines (MLRC: Resize(256); Resize(256) + CenterCrop(227)) and store the "
        "pixels under data.cache_dir (default $MLRC_CACHE_DIR or ~/.cache/mlrc), where every "
        "later run, worker and process finds them. A valid cache is reused, not rebuilt.",
    )
    source = cache.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help="the dataset (with --root, --protocol, --set)")
    source.add_argument(
        "--run-dir", type=Path, help="the caches of an existing run's recorded protocol"
    )
    cache.add_argument("--root", default=None, help="dataset root directory")
    cache.add_argument("--protocol", default="mlrc", help="protocol whose pipelines to cache")
    cache.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a protocol value, e.g. --set data.cache_dir=/scratch/mlrc (repeatable)",
    )
    cache.add_argument(
        "--workers",
        type=int,
        default=None,
        help="decoding processes, 0: in this process (default: every core)",
    )
    cache.add_argument("--no-progress", action="store_true", help="hide the progress bar")


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
    from benchmark.search.loss_settings import check_loss_settings

    try:
        config = load_registered_protocol(args.protocol, args.dataset, args.overrides)
    except UnknownDatasetError:  # the check reports it, in its own format (--json included)
        config = load_protocol(args.protocol, args.dataset, args.overrides)
    check_loss_settings(config)  # the protocol's losses: section, as a run would check it
    shapes = _batch_shapes(config, args.losses)
    return run_data_check(
        config.dataset, args.root, as_json=args.json, config=config.data, shapes=shapes
    )


def _batch_shapes(config: ProtocolConfig, losses: str | None) -> list[BatchShape]:
    """The batches of ``losses`` (default: the protocol's) under ``config``'s training."""
    from benchmark.data.fold_feasibility import batch_shapes
    from benchmark.losses import get_loss_spec
    from benchmark.stages.pipeline import resolve_losses

    names = resolve_losses(losses, config)
    training = config.training
    return batch_shapes(
        training.batch_size,
        training.batch_sampler,
        {name: get_loss_spec(name).images_per_class for name in names},
    )


def _cache(args: argparse.Namespace) -> int:
    from benchmark.data import build_protocol_caches
    from benchmark.data.protocol_caches import ROLES, disk_usage
    from benchmark.errors import ConfigError

    if args.workers is not None and args.workers < 0:
        raise ConfigError(
            f"--workers must be >= 0 (decoding processes; 0 decodes in this process; leave it "
            f"out for every core), got {args.workers}"
        )
    if args.run_dir is not None:
        from benchmark.store.run_directory import RunDirectory

        config, _ = RunDirectory(args.run_dir.absolute()).attach()
    else:
        overrides = [*args.overrides, *root_override(args.root)]
        config = load_registered_protocol(args.protocol, args.dataset, overrides)
    caches = build_protocol_caches(
        config.dataset, config.data, args.workers, progress=not args.no_progress
    )
    if not caches.distinct():
        print(f"protocol {config.name}: no pipeline of {config.dataset} can be cached exactly")
        return 0
    for role in ROLES:
        cache = caches.of(role)
        if cache is None:
            print(f"{role}: read from the image files (see the warning above)")
            continue
        steps = " -> ".join(cache.first_steps) or "the decoded images"
        print(f"{role}: {len(cache)} images, {steps}")
        print(f"  {cache.directory}")
    total = sum(disk_usage(cache.directory) for cache in caches.distinct())
    print(f"size on disk: {total / 2**20:,.1f} MiB ({total:,} bytes)")
    if not config.data.cache_images:
        print(
            f"note: protocol {config.name} has data.cache_images: false; its runs read the "
            "image files unless --set data.cache_images=true"
        )
    return 0
