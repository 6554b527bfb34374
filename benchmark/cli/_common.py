"""What several subcommands share: their examples, the protocol and run-directory arguments."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.cli._logging import add_verbosity_arguments

if TYPE_CHECKING:
    from benchmark.config.ablation_grids import AblationPlan
    from benchmark.config.sections import ProtocolConfig
    from benchmark.tracking.settings import TrackerRequest

EXAMPLES: dict[str, str] = {
    "run": "mlrc run --protocol demo --losses contrastive,mfcwms --set study.n_trials=8",
    "study": "mlrc study --protocol mlrc --dataset cub --root ~/data/CUB_200_2011 --loss mfcwms",
    "worker": "mlrc worker --run-dir results/runs/mlrc-cub --loss mfcwms",
    "retrain": "mlrc retrain --run-dir results/runs/mlrc-cub --loss mfcwms",
    "ablate": "mlrc ablate mf-reg --protocol traditional --dataset cub --root ~/data/CUB_200_2011",
    "tables": "mlrc tables results/runs/mlrc-cub results/runs/mlrc-cars196 --out results/tables",
    "losses": "mlrc --plugin my_losses.py losses",
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
        name.split()[-1],
        help=help_text.replace("%", "%%"),  # argparse %-formats help texts ("95% interval")
        epilog="example: " + EXAMPLES[name],
        **options,
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


def add_tracker_arguments(parser: argparse.ArgumentParser, recorded: bool = False) -> None:
    """--tracker and --tracking-uri: the experiment tracker every fold training is logged to."""
    scope = (
        "for this process (default: the tracker the run recorded)"
        if recorded
        else "recorded in run.json for every process of the run; none turns it off"
    )
    parser.add_argument(
        "--tracker",
        default=None,
        metavar="NAME",
        help=f"log each fold training to mlflow, tensorboard, wandb or a plugin's tracker, {scope}",
    )
    parser.add_argument(
        "--tracking-uri",
        default=None,
        metavar="URI",
        help="where the tracker logs, e.g. http://127.0.0.1:5000 for an mlflow server "
        "(default: a store in the run directory, tracking/<tracker>/)",
    )


def tracker_request(args: argparse.Namespace) -> TrackerRequest:
    """The --tracker/--tracking-uri of ``args`` as a
    :class:`~benchmark.tracking.settings.TrackerRequest`."""
    from benchmark.tracking.settings import TrackerRequest

    return TrackerRequest(args.tracker, args.tracking_uri)


def load_recorded_plugins(run_dir: Path | None) -> None:
    """Import the plugins an existing run directory recorded (its losses and datasets), so
    that resuming it needs no --plugin again; nothing for a new or absent one."""
    from benchmark.store.run_directory import RunDirectory

    if run_dir is not None and RunDirectory(Path(run_dir)).exists():
        RunDirectory(Path(run_dir)).load_plugins()


def load_config(args: argparse.Namespace, extra_overrides: Sequence[str] = ()) -> ProtocolConfig:
    """The protocol named by --protocol/--dataset with --root, --set (and ``extra_overrides``
    from other flags) applied. Its ``losses:`` section is checked against the loss registry
    (once plugins are loaded) by ``StudyContext.create``, and by the commands that make no
    context (:func:`check_ablation_points`, ``slurm submit``)."""
    overrides = [*args.overrides, *extra_overrides, *root_override(args.root)]
    return load_registered_protocol(args.protocol, args.dataset, overrides)


def load_registered_protocol(
    protocol: str, dataset: str | None, overrides: Sequence[str] = ()
) -> ProtocolConfig:
    """The protocol ``protocol`` for ``dataset`` (its name as registered: ``SOP`` -> ``sop``),
    with its dataset names checked against the dataset registry, plugins' datasets included."""
    from benchmark.config import load_protocol
    from benchmark.data import dataset_names, get_dataset_spec

    if dataset is not None:
        dataset = get_dataset_spec(dataset).name
    return load_protocol(protocol, dataset, list(overrides), known_datasets=dataset_names())


def root_override(root: str | None) -> list[str]:
    """--root as a protocol override (``data.root=...``), or nothing when it is not given."""
    return [] if root is None else [f"data.root={root}"]


def check_ablation_points(
    args: argparse.Namespace, base: ProtocolConfig, plan: AblationPlan, losses: list[str]
) -> None:
    """Every grid point's protocol (``base`` with --values applied), checked like any protocol, before a
    point is listed or trained: a value out of range is one line naming the point."""
    from benchmark.config.ablation_grids import point_config
    from benchmark.errors import ConfigError
    from benchmark.search.loss_settings import check_loss_settings

    overrides = [*args.overrides, *root_override(args.root)]
    for slug, setting in plan.points:
        try:
            config = point_config(
                args.protocol, base.dataset, overrides, plan.ablation, setting, losses
            )
            check_loss_settings(config)
        except ConfigError as exc:
            raise type(exc)(f"ablation {plan.ablation.name}, point {slug}: {exc}") from None


def ablation_loss_selection(selection: str | None, plan: AblationPlan) -> str:
    """--losses as given (an empty one included, which names no loss and is refused), else
    the losses the ablation compares."""
    return ",".join(plan.ablation.losses) if selection is None else selection


def check_writable(path: Path, option: str, folder: bool = False) -> None:
    """Refuse, before any work, an output ``path`` (a file, or a ``folder``) that cannot be
    written: on a read-only filesystem or without permission, it would fail at the end."""
    import os

    from benchmark.errors import ConfigError

    target = path if folder else path.parent
    existing = target.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{option} {path}: {existing} is a file; give a path in a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        read_only = os.statvfs(existing).f_flag & os.ST_RDONLY
        why = "a read-only file system" if read_only else "no permission to write there"
        raise ConfigError(
            f"{option} {path}: cannot write to {existing} ({why}); give a writable path"
        )


NO_RESULT = 1
"""The exit status of a command that ran to its end while a requested loss gave no result."""


def no_result_status(failed: dict[str, str]) -> int:
    """0 when every requested loss gave its result; else, on stderr, one line per loss that
    gave none (why, and what to change), and :data:`NO_RESULT`."""
    import sys

    for loss, reason in failed.items():
        print(f"error: {loss} gave no result: {reason}", file=sys.stderr)
    return NO_RESULT if failed else 0
