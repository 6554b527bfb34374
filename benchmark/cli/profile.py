"""``mlrc profile ...``: benchmarks that print ratios against references measured in the same run."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.cli._common import EXAMPLES


def register(commands: argparse._SubParsersAction) -> None:
    profile = commands.add_parser("profile", help="benchmarks that print ratios to references")
    profile_commands = profile.add_subparsers(dest="profile_command", required=True, metavar="COMMAND")
    losses = profile_commands.add_parser(
        "losses",
        help="time and peak memory of forward+backward per loss vs PML references",
        epilog="example: " + EXAMPLES["profile losses"],
    )
    losses.set_defaults(handler=_profile_losses)
    losses.add_argument("--device", default="cpu", help="cpu or cuda")
    losses.add_argument("--batch-sizes", default=None, help="comma-separated, e.g. 32,180,1024")
    losses.add_argument("--num-classes", default=None, help="comma-separated, e.g. 100,1000,11318")
    losses.add_argument("--embedding-size", type=int, default=512)
    losses.add_argument("--repeats", type=int, default=3)
    losses.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (1 gives steadier timings)"
    )
    losses.add_argument(
        "--max-cpu-entries",
        type=int,
        default=None,
        help="on CPU, skip (B, C) combinations whose B x C exceeds this (default 16,000,000)",
    )
    losses.add_argument("--losses", default=None, help="comma-separated subset of our losses")
    losses.add_argument(
        "--csv", type=Path, default=Path("results/runs/profile/losses.csv"), help="where to write the rows"
    )


def _profile_losses(args: argparse.Namespace) -> int:
    from benchmark.profiling import format_profile_table, profile_losses, write_profile_csv

    def numbers(text: str | None) -> list[int] | None:
        return None if text is None else [int(x) for x in text.split(",")]

    kwargs = {
        "embedding_size": args.embedding_size,
        "device": args.device,
        "repeats": args.repeats,
        "num_threads": args.threads,
    }
    if args.max_cpu_entries:
        kwargs["max_cpu_entries"] = args.max_cpu_entries
    if args.batch_sizes:
        kwargs["batch_sizes"] = numbers(args.batch_sizes)
    if args.num_classes:
        kwargs["num_classes"] = numbers(args.num_classes)
    if args.losses:
        kwargs["losses"] = args.losses.split(",")
    rows = profile_losses(**kwargs)
    print(format_profile_table(rows))
    write_profile_csv(rows, args.csv)
    print(f"\nwritten: {args.csv}")
    return 0
