"""``mlrc tables``: the paper's tables and figures from the results of any number of runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.cli._common import add_command, check_writable

DEFAULT_OUT = Path("results") / "tables"


def register(commands: argparse._SubParsersAction) -> None:
    tables = add_command(
        commands,
        "tables",
        "write the tables (md, tex, csv) and figures (png) of finished runs; print Table 1",
        _tables,
    )
    tables.add_argument(
        "sources",
        nargs="*",
        type=Path,
        metavar="SOURCE",
        help="run directory, folder holding a results.csv, or results CSV file (several merge)",
    )
    tables.add_argument(
        "--run-dir", action="append", type=Path, default=[], help="a SOURCE (repeatable)"
    )
    tables.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT}/)"
    )
    tables.add_argument(
        "--metrics",
        default="map_at_r",
        help="Table 1's metrics, comma-separated: map_at_r, precision_at_1, r_precision "
        "(default map_at_r)",
    )
    tables.add_argument(
        "--reference", type=Path, default=None, help="published values to show beside ours (CSV)"
    )
    tables.add_argument(
        "--runtime", type=Path, default=None, help="the CSV of `mlrc profile losses` to render"
    )
    tables.add_argument(
        "--confidence",
        type=float,
        default=None,
        help="confidence level of the intervals (default: the runs' retrain.confidence, or 0.95)",
    )
    tables.add_argument("--no-figures", action="store_true", help="write the tables only")
    tables.add_argument(
        "--html",
        type=Path,
        default=None,
        metavar="DIR",
        help="also write a results page, DIR/index.html: the tables, figures, each study's "
        "trials, cost and settings; static, opens from file:// "
        "(e.g. mlrc tables results/runs/demo-synthetic --html results/page)",
    )
    tables.add_argument(
        "--allow-mixed-settings",
        action="store_true",
        help="show runs of one protocol and dataset made with other settings in one table, "
        "their cells marked with those settings (refused by default: like with like only)",
    )


def _tables(args: argparse.Namespace) -> int:
    from benchmark.errors import ConfigError
    from benchmark.report.writer import write_report

    sources = [*args.sources, *args.run_dir]
    if not sources and args.runtime is None:
        raise ConfigError(
            "mlrc tables needs a SOURCE (a run directory or results CSV) or --runtime PROFILE_CSV"
        )
    if args.out.exists() and not args.out.is_dir():
        raise ConfigError(f"--out {args.out} is a file; give a folder for the tables")
    if args.html is not None and args.html.exists() and not args.html.is_dir():
        raise ConfigError(f"--html {args.html} is a file; give a folder for the results page")
    check_writable(args.out, "--out", folder=True)
    if args.html is not None:
        check_writable(args.html, "--html", folder=True)
    if args.confidence is not None and not 0 < args.confidence < 1:
        raise ConfigError(f"--confidence {args.confidence} must lie strictly between 0 and 1")
    listing = write_report(
        sources,
        args.out,
        metrics=args.metrics.split(","),
        reference_csv=args.reference,
        profile_csv=args.runtime,
        confidence=args.confidence,
        figures=not args.no_figures,
        html_dir=args.html,
        allow_mixed_settings=args.allow_mixed_settings,
    )
    print(listing.main_table)
    print()
    print(listing.format(args.out))
    return 0
