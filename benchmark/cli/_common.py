"""What several subcommands share: their examples, the protocol and run-directory arguments."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmark.cli._logging import add_verbosity_arguments

EXAMPLES: dict[str, str] = {
    "run": "mlrc run --protocol demo --losses contrastive,mfcwms --set study.n_trials=8",
    "study": "mlrc study --protocol mlrc --dataset cub --root ~/data/CUB_200_2011 --loss mfcwms",
    "worker": "mlrc worker --run-dir results/runs/mlrc-cub --loss mfcwms",
    "retrain": "mlrc retrain --run-dir results/runs/mlrc-cub --loss mfcwms",
    "ablate": "mlrc ablate mf-reg --protocol traditional --dataset cub --root ~/data/CUB_200_2011",
    "tables": "mlrc tables results/runs/mlrc-cub results/runs/mlrc-cars196 --out results/tables",
    "losses": "mlrc --plugin my_losses.py losses",
    "models": "mlrc models timm/vit_small_patch16_224",
    "data check": "mlrc data check --dataset cub --root ~/data/CUB_200_2011 --json",
    "data list": "mlrc --plugin my_dataset.py data list",
    "data cache": "mlrc data cache --dataset cub --root ~/data/CUB_200_2011 --protocol mlrc",
    "profile losses": "mlrc profile losses --batch-sizes 180 --num-classes 11318",
    "slurm submit": "mlrc slurm submit --protocol mlrc --dataset cub "
    "--root /shared/datasets/CUB_200_2011 --losses all --profile slurm/profiles/example.yaml",
    "slurm status": "mlrc slurm status results/runs/mlrc-cub --json",
    "status": "mlrc status results/runs/mlrc-cub --json",
    "slurm cancel": "mlrc slurm cancel results/runs/mlrc-cub",
    "profile samplers": "mlrc profile samplers --protocol demo --loss mfcwms --seeds 0,1,2",
    "profile pruners": "mlrc profile pruners --protocol demo --losses mfcwms,cwms --seeds 0,1 "
    "--pruners median,wilcoxon --set study.n_trials=15",
    "profile train": "mlrc profile train --protocol mlrc --device cuda --workers 1,2,4",
    "gpu-check": "mlrc gpu-check --keep results/runs/gpu-check",
}

Handler = Callable[[argparse.Namespace], int]


def add_command(
    commands: argparse._SubParsersAction,
    name: str,
    help_text: str,
    handler: Handler,
    **options: Any,
) -> argparse.ArgumentParser:
    """A subcommand whose --help ends with its example from :data:`EXAMPLES`; its description
    is the help text unless ``options`` (passed to ``add_parser``) give another, or None."""
    options = {"description": help_text, **options}
    parser = commands.add_parser(
        name.split()[-1], help=help_text, epilog="example: " + EXAMPLES[name], **options
    )
    parser.set_defaults(handler=handler)
    add_verbosity_arguments(parser, subcommand=True)
    return parser


def add_protocol_choice(parser: argparse.ArgumentParser, default: str = "demo") -> None:
    """--protocol, --dataset and --set: which protocol, on which dataset, with what changed."""
    from benchmark.config import available_protocols

    parser.add_argument(
        "--protocol",
        default=default,
        help=f"protocol name ({', '.join(available_protocols())}) or YAML path (default {default})",
    )
    parser.add_argument("--dataset", default=None, help="default: the protocol's default_dataset")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a protocol value, e.g. --set study.n_trials=8 (repeatable)",
    )


def add_protocol_arguments(parser: argparse.ArgumentParser) -> None:
    """--protocol, --dataset, --set, --root, --run-dir, --storage, --no-progress."""
    add_protocol_choice(parser)
    parser.add_argument("--root", default=None, help="dataset root (sets data.root)")
    parser.add_argument(
        "--run-dir", type=Path, default=None, help="default results/runs/<protocol>-<dataset>"
    )
    parser.add_argument(
        "--storage",
        default=None,
        help="Optuna storage URL (default: a journal file in the run dir)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.add_argument(
        "--raise-budget",
        action="store_true",
        help="let --set study.n_trials / retrain.repeats raise an existing run's budget, for "
        "all its losses (searched further, retrained where the best parameters change); "
        "without it a changed budget is refused, and a budget is never lowered",
    )


def add_run_dir_arguments(parser: argparse.ArgumentParser) -> None:
    """--run-dir, --loss, --storage, --no-progress: what a process started cold needs."""
    parser.add_argument(
        "--run-dir", required=True, type=Path, help="a run directory made by run/study"
    )
    parser.add_argument(
        "--loss", "--study", dest="loss", required=True, help="the loss (study) name"
    )
    parser.add_argument("--storage", default=None, help="override the run's storage URL")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def load_recorded_plugins(run_dir: Path | None) -> None:
    """Import the plugins an existing run directory recorded (its losses and datasets), so
    that resuming it needs no --plugin again; nothing for a new or absent one."""
    from benchmark.store.run_directory import RunDirectory

    if run_dir is not None and RunDirectory(Path(run_dir)).exists():
        RunDirectory(Path(run_dir)).load_plugins()


def load_config(args: argparse.Namespace, extra_overrides: list[str] = ()):
    """The protocol named by --protocol/--dataset with --root, --set (and ``extra_overrides``
    from other flags) applied."""
    overrides = [*args.overrides, *extra_overrides, *root_override(args.root)]
    return load_registered_protocol(args.protocol, args.dataset, overrides)


def load_registered_protocol(protocol: str, dataset: str | None, overrides: list[str] = ()):
    """The protocol ``protocol`` for ``dataset`` (its name as registered: ``SOP`` -> ``sop``),
    with its dataset names checked against the dataset registry and its trunk against the trunk
    registry (an unknown trunk, or timm's without timm, stops here), plugins' included."""
    from benchmark.config import load_protocol
    from benchmark.data import dataset_names, get_dataset_spec
    from benchmark.models.trunk_input import check_trunk_input

    if dataset is not None:
        dataset = get_dataset_spec(dataset).name
    config = load_protocol(protocol, dataset, list(overrides), known_datasets=dataset_names())
    check_trunk_input(config)
    return config


def root_override(root: str | None) -> list[str]:
    """--root as a protocol override (``data.root=...``), or nothing when it is not given."""
    return [] if root is None else [f"data.root={root}"]


NO_RESULT = 1
"""The exit status of a command that ran to its end while a requested loss gave no result."""


def no_result_status(failed: dict[str, str]) -> int:
    """0 when every requested loss gave its result; else, on stderr, one line per loss that
    gave none (why, and what to change), and :data:`NO_RESULT`."""
    import sys

    for loss, reason in failed.items():
        print(f"error: {loss} gave no result: {reason}", file=sys.stderr)
    return NO_RESULT if failed else 0
