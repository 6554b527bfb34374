"""The ``mlrc`` command line.

Every subcommand's --help shows a real example. User errors (bad config, unknown loss, missing
data, unreachable storage, ...) print one line ``error: ...`` with the fix and exit with code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from benchmark.errors import BenchmarkError

EXAMPLES = {
    "run": "mlrc run --protocol demo --losses contrastive,mfcwms --set study.n_trials=8",
    "study": "mlrc study --protocol mlrc --dataset cub --root ~/data/CUB_200_2011 --loss mfcwms",
    "worker": "mlrc worker --run-dir results/runs/mlrc-cub --loss mfcwms",
    "retrain": "mlrc retrain --run-dir results/runs/mlrc-cub --loss mfcwms",
    "tables": "mlrc tables --run-dir results/runs/mlrc-cub",
    "losses": "mlrc --plugin my_losses.py losses",
    "data check": "mlrc data check --dataset cub --root ~/data/CUB_200_2011 --json",
    "profile losses": "mlrc profile losses --batch-sizes 180 --num-classes 11318",
}


def _parser() -> argparse.ArgumentParser:
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
        help="import a .py file or module that registers extra losses (repeatable)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, **kwargs) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=help_text, description=help_text, epilog="example: " + EXAMPLES[name], **kwargs
        )

    run = command("run", "study -> retrain -> table for several losses on one dataset")
    _protocol_arguments(run)
    run.add_argument(
        "--losses",
        default=None,
        help="comma-separated loss names, 'all', or 'demo' (the protocol's list; the default)",
    )

    study = command("study", "run one loss's Optuna study in this process until its budget is met")
    _protocol_arguments(study)
    study.add_argument("--loss", required=True, help="the loss whose hyperparameters to search")

    worker = command("worker", "attach to an existing study and run trials until the budget is met")
    _run_dir_arguments(worker)
    worker.add_argument(
        "--worker-id",
        type=int,
        default=int(os.environ.get("SLURM_ARRAY_TASK_ID", "0")),
        help="offsets the sampler seed so parallel workers explore differently "
        "(default: $SLURM_ARRAY_TASK_ID or 0)",
    )

    retrain = command("retrain", "retrain the best parameters over the repeats and test them")
    _run_dir_arguments(retrain)

    tables = command("tables", "print the summary table of a run directory")
    tables.add_argument("--run-dir", required=True, type=Path)
    tables.add_argument(
        "--metrics",
        default="map_at_r",
        help="comma-separated: map_at_r, precision_at_1, r_precision (default map_at_r)",
    )

    command("losses", "list the registered losses with kind, parameters and search space").add_argument(
        "--json", action="store_true", help="print one JSON list instead of a table"
    )

    data = commands.add_parser("data", help="dataset utilities")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="COMMAND")
    check = data_commands.add_parser(
        "check",
        help="validate a dataset tree: every problem, class/image counts, split and folds",
        epilog="example: " + EXAMPLES["data check"],
    )
    check.add_argument("--dataset", required=True, help="cub, cars196, sop, inshop, folder, synthetic")
    check.add_argument("--root", default=None, help="dataset root directory")
    check.add_argument("--protocol", default="mlrc", help="protocol whose data settings to use")
    check.add_argument("--json", action="store_true", help="print one JSON object for scripts")

    profile = commands.add_parser("profile", help="benchmarks that print ratios to references")
    profile_commands = profile.add_subparsers(dest="profile_command", required=True, metavar="COMMAND")
    losses = profile_commands.add_parser(
        "losses",
        help="time and peak memory of forward+backward per loss vs PML references",
        epilog="example: " + EXAMPLES["profile losses"],
    )
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
    return parser


def _protocol_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--protocol", default="demo", help="protocol name or YAML path (default demo)")
    parser.add_argument("--dataset", default=None, help="default: the protocol's default_dataset")
    parser.add_argument("--root", default=None, help="dataset root (sets data.root)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a protocol value, e.g. --set study.n_trials=8 (repeatable)",
    )
    parser.add_argument("--run-dir", type=Path, default=None, help="default results/runs/<protocol>-<dataset>")
    parser.add_argument(
        "--storage", default=None, help="Optuna storage URL (default: a journal file in the run dir)"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def _run_dir_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-dir", required=True, type=Path, help="a run directory made by run/study")
    parser.add_argument("--loss", "--study", dest="loss", required=True, help="the loss (study) name")
    parser.add_argument("--storage", default=None, help="override the run's storage URL")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished work is saved; run the same command again to resume", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    from benchmark.plugins import load_plugin

    for plugin in args.plugin:
        load_plugin(plugin)
    handler = {
        "run": _cmd_run,
        "study": _cmd_study,
        "worker": _cmd_worker,
        "retrain": _cmd_retrain,
        "tables": _cmd_tables,
        "losses": _cmd_losses,
        "data": _cmd_data,
        "profile": _cmd_profile,
    }[args.command]
    return handler(args)


def _load_config(args: argparse.Namespace):
    from benchmark.config import load_protocol

    overrides = list(args.overrides)
    if args.root is not None:
        overrides.append(f"data.root={args.root}")
    return load_protocol(args.protocol, args.dataset, overrides)


def _run_dir(args: argparse.Namespace, config):
    from benchmark.study import RunDirectory
    from benchmark.study.pipeline import default_run_dir

    return RunDirectory(Path(args.run_dir or default_run_dir(config)).resolve())


def _cmd_run(args: argparse.Namespace) -> int:
    from benchmark.study import resolve_losses, run_benchmark

    config = _load_config(args)
    losses = resolve_losses(args.losses, config)
    run_dir = _run_dir(args, config)
    print(f"run directory: {run_dir.path}")
    print(f"losses: {', '.join(losses)}")
    table = run_benchmark(
        config, losses, run_dir, args.storage, args.plugin, progress=not args.no_progress
    )
    print()
    print(table)
    print(f"\nresults: {run_dir.results_path}\ntable:   {run_dir.table_path}")
    return 0


def _cmd_study(args: argparse.Namespace) -> int:
    from benchmark.losses import get_loss_spec
    from benchmark.study import run_worker

    config = _load_config(args)
    get_loss_spec(args.loss)
    run_dir = _run_dir(args, config)
    run_dir.initialise(config, args.plugin, args.storage)
    print(f"run directory: {run_dir.path}")
    run_worker(run_dir, args.loss, args.storage, progress=not args.no_progress)
    return 0


def _cmd_worker(args: argparse.Namespace) -> int:
    from benchmark.study import RunDirectory, run_worker

    run_dir = RunDirectory(args.run_dir.resolve())
    summary = run_worker(
        run_dir, args.loss, args.storage, worker_id=args.worker_id, progress=not args.no_progress
    )
    print(f"worker done: ran trials {summary.trials_run}, diverged {summary.trials_failed}")
    return 0


def _cmd_retrain(args: argparse.Namespace) -> int:
    from benchmark.study import RunDirectory, run_retrain

    run_dir = RunDirectory(args.run_dir.resolve())
    run_retrain(run_dir, args.loss, args.storage, progress=not args.no_progress)
    return 0


def _cmd_tables(args: argparse.Namespace) -> int:
    import pandas as pd

    from benchmark.report import format_results_table
    from benchmark.study import RunDirectory
    from benchmark.study.retrain import results_file

    run_dir = RunDirectory(args.run_dir.resolve())
    config = run_dir.protocol()
    rows = results_file(run_dir).read()
    metrics = tuple(m.strip() for m in args.metrics.split(","))
    print(format_results_table(pd.DataFrame(rows), metrics, config.retrain.confidence))
    return 0


def _cmd_losses(args: argparse.Namespace) -> int:
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


def _cmd_data(args: argparse.Namespace) -> int:
    from benchmark.config import load_protocol
    from benchmark.data import run_data_check

    config = load_protocol(args.protocol, args.dataset)
    return run_data_check(args.dataset, args.root, as_json=args.json, config=config.data)


def _cmd_profile(args: argparse.Namespace) -> int:
    from benchmark.losses.profile import format_profile_table, profile_losses, write_csv

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
    write_csv(rows, args.csv)
    print(f"\nwritten: {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
