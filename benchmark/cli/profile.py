"""``mlrc profile ...``: benchmarks that print ratios against references measured in the same run."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.cli._common import (
    add_command,
    add_protocol_choice,
    check_writable,
    load_registered_protocol,
)

if TYPE_CHECKING:
    import torch

_logger = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction) -> None:
    profile = commands.add_parser("profile", help="benchmarks that print ratios to references")
    profile_commands = profile.add_subparsers(
        dest="profile_command", required=True, metavar="COMMAND"
    )
    losses = add_command(
        profile_commands,
        "profile losses",
        "time and peak memory of forward+backward per loss vs PML references",
        _profile_losses,
        description=None,
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
    losses.add_argument(
        "--max-cpu-memory-mb",
        type=float,
        default=None,
        help="on CPU, skip a pair-based loss where its peak memory, extrapolated from B = 64 "
        "and 128, exceeds this (default 8192)",
    )
    losses.add_argument(
        "--losses",
        default=None,
        help="comma-separated registered losses (and mfcwms_direct_cxc), or 'all': every "
        "registered loss and the references (default: ours and the references)",
    )
    losses.add_argument(
        "--csv",
        type=Path,
        default=Path("results/runs/profile/losses.csv"),
        help="where to write the rows",
    )
    _register_train(profile_commands)
    _register_samplers(profile_commands)
    _register_pruners(profile_commands)


def _profile_losses(args: argparse.Namespace) -> int:
    from benchmark.profiling import format_profile_table, profile_losses, write_profile_csv

    check_writable(args.csv, "--csv")
    kwargs = {
        "embedding_size": args.embedding_size,
        "device": str(_profile_device(args.device)),
        "repeats": args.repeats,
        "num_threads": args.threads,
    }
    if args.max_cpu_entries:
        kwargs["max_cpu_entries"] = args.max_cpu_entries
    if args.max_cpu_memory_mb:
        kwargs["max_cpu_memory_mb"] = args.max_cpu_memory_mb
    if args.batch_sizes:
        kwargs["batch_sizes"] = _counts(args.batch_sizes, "--batch-sizes", minimum=2)
    if args.num_classes:
        kwargs["num_classes"] = _counts(args.num_classes, "--num-classes", minimum=1)
    if args.losses is not None:
        kwargs["losses"] = _names(args.losses, "--losses")
    rows = profile_losses(**kwargs)
    print(format_profile_table(rows))
    write_profile_csv(rows, args.csv)
    _logger.info("written: %s", args.csv)
    return 0


def _register_train(profile_commands: argparse._SubParsersAction) -> None:
    train = add_command(
        profile_commands,
        "profile train",
        "images/s of training steps (fp32, bf16, channels_last) and of the data loader, "
        "trainings/hour of 1, 2, 4 workers; ratios and the bottleneck",
        _profile_train,
        description="Measure, on one device, what limits a training: full training steps of the "
        "protocol's network (random weights) in fp32 and the faster settings, the data loader "
        "alone on real JPEG files in CUB's layout, and k `mlrc worker` processes sharing the "
        "device. Prints the ratios and names the bottleneck. On a CPU use --network small.",
    )
    add_protocol_choice(train, default="mlrc")
    train.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    train.add_argument(
        "--network",
        choices=("protocol", "small"),
        default="protocol",
        help="the protocol's trunk, or the small CNN at the same image size and batch",
    )
    train.add_argument(
        "--loss", default=None, help="default: the protocol's first demo loss, else mfcwms"
    )
    train.add_argument("--steps", type=int, default=10, help="timed training steps per setting")
    train.add_argument("--loader-workers", default="1,2,4", help="loader worker counts to time")
    train.add_argument(
        "--loader-batches", type=int, default=20, help="timed batches per count and round"
    )
    train.add_argument(
        "--loader-rounds",
        type=int,
        default=2,
        help="rounds of loader measurements, files and cache interleaved (default 2)",
    )
    train.add_argument(
        "--jpeg-size",
        default="500x375",
        help="WIDTHxHEIGHT of the JPEG files the loader reads (default 500x375, CUB's size)",
    )
    train.add_argument(
        "--workers", default="1,2,4", help="mlrc worker process counts ('' for none)"
    )
    train.add_argument(
        "--workers-cache",
        choices=("protocol", "both"),
        default="protocol",
        help="worker runs read images as the protocol does, or both from files and the cache",
    )
    train.add_argument(
        "--cores-per-device",
        type=int,
        default=8,
        help="projection: loader cores a device gets on your cluster (default 8)",
    )
    train.add_argument(
        "--epochs-per-training",
        type=float,
        default=50.0,
        help="projection: the mean epochs of one training, an assumption (default 50)",
    )
    train.add_argument(
        "--pruning-saves",
        type=float,
        default=None,
        help="projection: the fraction of the study's training epochs pruning saves (default: "
        "the saving mlrc profile pruners measured, in docs/guide/search.md; printed with its "
        "source)",
    )
    train.add_argument(
        "--csv",
        type=Path,
        default=Path("results/runs/profile/train.csv"),
        help="where to write the rows",
    )
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _profile_train(args: argparse.Namespace) -> int:
    from benchmark.profiling.projection import pruning_saving
    from benchmark.profiling.train import TrainProfileOptions, profile_training
    from benchmark.profiling.train_report import format_train_profile, write_train_profile_csv

    check_writable(args.csv, "--csv")
    config = load_registered_protocol(args.protocol, args.dataset, args.overrides)
    pruning_saves, pruning_source = pruning_saving(args.pruning_saves)
    options = TrainProfileOptions(
        device=_profile_device(args.device),
        network=args.network,
        loss=args.loss,
        steps=args.steps,
        loader_workers=_counts(args.loader_workers, "--loader-workers"),
        loader_batches=args.loader_batches,
        loader_rounds=args.loader_rounds,
        jpeg_size=_size(args.jpeg_size),
        worker_counts=_counts(args.workers, "--workers"),
        worker_cache=args.workers_cache,
        cores_per_device=args.cores_per_device,
        epochs_per_training=args.epochs_per_training,
        pruning_saves=pruning_saves,
        pruning_source=pruning_source,
        plugins=tuple(args.plugin),
        progress=not args.no_progress,
    )
    profile = profile_training(config, options)
    print(format_train_profile(profile))
    write_train_profile_csv(profile.rows(), args.csv)
    _logger.info("written: %s", args.csv)
    return 0


def _profile_device(name: str) -> torch.device:
    import torch

    from benchmark.engine import resolve_device
    from benchmark.errors import ConfigError

    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {name}: torch sees no CUDA device here; use --device cpu")
    try:
        return resolve_device(name)
    except ConfigError:
        raise ConfigError(
            f"--device {name!r} is not a device; use cpu, cuda, cuda:N or auto"
        ) from None


def _size(text: str) -> tuple[int, int]:
    from benchmark.errors import ConfigError

    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit()):
        raise ConfigError(f"--jpeg-size {text!r}: expected WIDTHxHEIGHT in pixels, e.g. 500x375")
    return int(width), int(height)


def _counts(text: str, option: str, minimum: int = 0) -> tuple[int, ...]:
    from benchmark.errors import ConfigError

    try:
        counts = tuple(int(item) for item in text.split(",") if item.strip())
    except ValueError:
        raise ConfigError(
            f"{option} {text!r}: expected comma-separated integers, e.g. 0,2,4"
        ) from None
    if not counts or min(counts) < minimum:
        raise ConfigError(f"{option} {text!r}: give integers of at least {minimum}")
    return counts


def _register_samplers(profile_commands: argparse._SubParsersAction) -> None:
    samplers = add_command(
        profile_commands,
        "profile samplers",
        "TPE vs MLRC's Sobol + GP on the same study and budget: best objective per seed, "
        "and duplicate suggestions with parallel workers",
        _profile_samplers,
        description=None,
    )
    add_protocol_choice(samplers)
    samplers.add_argument("--loss", default="mfcwms", help="the loss whose study is run")
    samplers.add_argument("--samplers", default="tpe,gp", help="comma-separated sampler kinds")
    samplers.add_argument("--seeds", default="0,1,2", help="comma-separated sampler seeds")
    samplers.add_argument("--workers", type=int, default=2, help="parallel workers of the check")
    samplers.add_argument(
        "--csv",
        type=Path,
        default=Path("results/runs/profile/samplers.csv"),
        help="where to write the rows",
    )


def _profile_samplers(args: argparse.Namespace) -> int:
    from benchmark.profiling.search_samplers import (
        compare_samplers,
        format_sampler_table,
        write_sampler_csv,
    )

    check_writable(args.csv, "--csv")
    rows = compare_samplers(
        args.protocol,
        args.dataset,
        args.loss,
        kinds=_names(args.samplers, "--samplers"),
        seeds=_counts(args.seeds, "--seeds"),
        workers=args.workers,
        overrides=args.overrides,
    )
    print(format_sampler_table(rows))
    write_sampler_csv(rows, args.csv)
    _logger.info("written: %s", args.csv)
    return 0


def _register_pruners(profile_commands: argparse._SubParsersAction) -> None:
    pruners = add_command(
        profile_commands,
        "profile pruners",
        "the same studies with and without pruning: fold trainings saved, best configuration, "
        "and its retrained test MAP@R against the unpruned one's 95% interval",
        _profile_pruners,
        description=None,
    )
    add_protocol_choice(pruners)
    pruners.add_argument("--losses", default="mfcwms", help="comma-separated losses")
    pruners.add_argument("--seeds", default="0,1", help="comma-separated sampler seeds")
    pruners.add_argument(
        "--pruners",
        default="median,wilcoxon",
        help="comma-separated NAME[:SETTING=VALUE...], e.g. median:warmup_folds=0,"
        "wilcoxon:p_threshold=0.3 (each compared with study.pruner=none)",
    )
    pruners.add_argument(
        "--keep", type=Path, default=None, help="keep the run directories in this folder"
    )
    pruners.add_argument(
        "--csv",
        type=Path,
        default=Path("results/runs/profile/pruners.csv"),
        help="where to write the rows (rewritten after every study)",
    )
    pruners.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _profile_pruners(args: argparse.Namespace) -> int:
    from benchmark.profiling.pruner_comparison import compare_pruners
    from benchmark.profiling.pruner_table import format_pruner_table

    check_writable(args.csv, "--csv")
    if args.keep is not None:
        check_writable(args.keep, "--keep", folder=True)
    rows = compare_pruners(
        args.protocol,
        args.dataset,
        losses=_names(args.losses, "--losses"),
        seeds=_counts(args.seeds, "--seeds"),
        pruners=_names(args.pruners, "--pruners"),
        overrides=args.overrides,
        work_dir=args.keep,
        csv_path=args.csv,
        progress=not args.no_progress,
    )
    print(format_pruner_table(rows))
    print(f"\nwritten: {args.csv}")
    return 0


def _names(text: str, option: str) -> list[str]:
    from benchmark.errors import ConfigError

    names = [item.strip() for item in text.split(",") if item.strip()]
    if not names:
        raise ConfigError(f"{option} {text!r} names nothing; give comma-separated names")
    return names
