"""``mlrc tables``: render the tables of finished runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.cli._common import add_command


def register(commands: argparse._SubParsersAction) -> None:
    tables = add_command(commands, "tables", "print the summary table of a run directory", _tables)
    tables.add_argument("--run-dir", required=True, type=Path)
    tables.add_argument(
        "--metrics",
        default="map_at_r",
        help="comma-separated: map_at_r, precision_at_1, r_precision (default map_at_r)",
    )


def _tables(args: argparse.Namespace) -> int:
    import pandas as pd

    from benchmark.report import format_results_table
    from benchmark.study import RunDirectory, results_file

    run_dir = RunDirectory(args.run_dir.resolve())
    config = run_dir.protocol()
    rows = results_file(run_dir).read()
    metrics = tuple(m.strip() for m in args.metrics.split(","))
    print(format_results_table(pd.DataFrame(rows), metrics, config.retrain.confidence))
    return 0
