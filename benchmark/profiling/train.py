"""``mlrc profile train``: where the time of a training goes, on the device that will run it.

Three measurements, each against a reference measured in the same run:

- images/s of full training steps of the protocol's network at its image size and batch size
  (:mod:`~benchmark.profiling.train_step`), in fp32 and in each faster setting (TF32, bf16
  autocast, channels_last, bf16 + channels_last); ratios to fp32;
- images/s of the evaluation forward pass (the validation and test embeddings);
- images/s of the data loader alone on a folder of real JPEG files in CUB's layout and size
  (:mod:`~benchmark.profiling.loader`, :mod:`~benchmark.profiling.cub_jpeg`), decoding every
  file and reading the image cache, interleaved, with each number of loader worker processes;
  per core, ratio of the cache to the files, and the cores one training step needs;
- aggregate trainings/hour of 1, 2, 4 ``mlrc worker`` processes sharing the device on a fresh
  tiny run each (:mod:`~benchmark.profiling.workers`), with or without the image cache; ratios
  to one worker;
- on CUB, the device-hours of Table 1's column from these rates
  (:mod:`~benchmark.profiling.projection`).

Pretrained weights are never loaded (``model.weights`` is set to ``none``): the speed of a
network does not depend on its weights.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from benchmark.config import ProtocolConfig
from benchmark.data import (
    DatasetIndex,
    ImageCache,
    build_folds,
    build_transforms,
    cache_refusal,
    ensure_image_cache,
    read_cub,
)
from benchmark.data.protocol_caches import usable_cores
from benchmark.engine import RunDevice
from benchmark.errors import ConfigError
from benchmark.losses import get_loss_spec
from benchmark.profiling.cub_jpeg import CUB_LIKE_SIZE, ensure_cub_jpeg_tree
from benchmark.profiling.loader import LoaderMeasurement, measure_loader
from benchmark.profiling.projection import (
    DEFAULT_CORES_PER_DEVICE,
    DEFAULT_EPOCHS_PER_TRAINING,
)
from benchmark.profiling.train_report import TrainProfile
from benchmark.profiling.train_step import (
    STEP_SETTINGS,
    StepSetting,
    measure_eval_forward,
    measure_training_step,
)
from benchmark.profiling.workers import WorkerMeasurement, measure_workers
from benchmark.progress import Progress

_logger = logging.getLogger(__name__)

# The loss timed when neither --loss nor the protocol's demo_losses name one: the paper's.
DEFAULT_LOSS = "mfcwms"
# JPEG files per class of the loader's tree (the classes follow from the batch composition).
TREE_IMAGES_PER_CLASS = 5
# Each tiny training of the worker measurement: this many epochs of --steps iterations, with a
# validation before training and after every epoch.
WORKER_RUN_EPOCHS = 2

Network = Literal["protocol", "small"]
WorkerCache = Literal["protocol", "both"]


@dataclass(frozen=True)
class TrainProfileOptions:
    """What ``mlrc profile train`` measures, and how much of it.

    Args:
        device: where the steps and the workers run (``cpu``, ``cuda``, ``cuda:N``).
        network: ``"protocol"`` (its trunk) or ``"small"`` (the small CNN, same image size and
            batch: the whole command then runs in about a minute on a CPU).
        loss: the registered loss of every step and worker (default: the protocol's first demo
            loss, else mfcwms).
        steps: timed training steps per setting (after ``warmup_steps``); also the iterations
            per epoch of the worker runs' tiny trainings.
        loader_workers: loader worker counts to time (the protocol's ``data.num_workers`` is
            always added).
        loader_batches: timed batches per loader measurement and round.
        loader_rounds: rounds of the loader measurements; each round times every count from
            the JPEG files and from the image cache in turn (interleaved: a busy neighbour on a
            shared machine slows both alike), and the rounds are pooled.
        jpeg_size: width and height of the tree's JPEG files (CUB's are about 500 x 375).
        worker_counts: numbers of ``mlrc worker`` processes to time (empty: none).
        worker_cache: ``protocol``: the worker runs read images as the protocol does
            (``data.cache_images``); ``both``: once from the files and once from the cache.
        trials_per_worker: trials of the tiny run per worker process.
        cache_dir: where the JPEG tree and its image caches are kept (default
            ``$MLRC_CACHE_DIR`` or ~/.cache/mlrc).
        cores_per_device: loader cores a device gets on the cluster (for the projection).
        epochs_per_training: the mean epochs of a training assumed by the projection.
        pruning_saves: the fraction of the study's training epochs a pruner saves (projection).
        pruning_source: where ``pruning_saves`` comes from (printed with the projection).
        plugins: ``--plugin`` files, recorded in the worker runs so their workers load them.
        progress: show a progress bar on a terminal (else log lines).
    """

    device: torch.device
    network: Network = "protocol"
    loss: str | None = None
    steps: int = 10
    warmup_steps: int = 2
    loader_workers: tuple[int, ...] = (1, 2, 4)
    loader_batches: int = 20
    loader_rounds: int = 2
    jpeg_size: tuple[int, int] = CUB_LIKE_SIZE
    worker_counts: tuple[int, ...] = (1, 2, 4)
    worker_cache: WorkerCache = "protocol"
    trials_per_worker: int = 1
    cache_dir: Path | None = None
    cores_per_device: int = DEFAULT_CORES_PER_DEVICE
    epochs_per_training: float = DEFAULT_EPOCHS_PER_TRAINING
    pruning_saves: float = 0.0
    pruning_source: str = ""
    plugins: tuple[str, ...] = ()
    progress: bool = True


def profile_training(config: ProtocolConfig, options: TrainProfileOptions) -> TrainProfile:
    """Measure the steps, the loader and the workers of ``config`` on ``options.device``."""
    _check_options(options)
    loss_name = options.loss or (config.demo_losses[0] if config.demo_losses else DEFAULT_LOSS)
    images_per_class = get_loss_spec(loss_name).images_per_class
    profiled = profiled_protocol(config, options.network)
    batch_size = profiled.training.batch_size
    if batch_size % images_per_class:
        raise ConfigError(
            f"training.batch_size {batch_size} must be a multiple of the "
            f"{images_per_class} images per class the sampler of '{loss_name}' draws"
        )
    protocol_setting = StepSetting.of(profiled.training)
    settings = [*STEP_SETTINGS, *([] if protocol_setting in STEP_SETTINGS else [protocol_setting])]
    loader_counts = sorted({*options.loader_workers, profiled.data.num_workers})
    worker_caching = _worker_caching(profiled, options.worker_cache)
    total = 3 + len(settings) + options.loader_rounds * len(loader_counts)
    total += len(options.worker_counts) * len(worker_caching)
    with Progress(
        "profile train", total, logger=_logger, unit="measurement", bars=options.progress
    ) as bar:
        bar.set_postfix("JPEG tree")
        width, height = options.jpeg_size
        classes = tree_classes(
            batch_size // images_per_class, profiled.data.n_folds, profiled.data.fold_scheme
        )
        tree = ensure_cub_jpeg_tree(
            classes,
            TREE_IMAGES_PER_CLASS,
            width,
            cache_dir=options.cache_dir,
            image_height=height,
        )
        index = read_cub(tree)
        image_cache, cache_note = _loader_cache(index, profiled, options)
        bar.update()
        steps = [
            measure_training_step(
                profiled.model,
                profiled.training,
                profiled.data.image_size,
                setting,
                options.device,
                loss_name,
                options.steps,
                options.warmup_steps,
            )
            for setting in _advancing(bar, settings, "step")
        ]
        bar.set_postfix("evaluation forward")
        evaluation = measure_eval_forward(
            profiled.model,
            profiled.training,
            profiled.data.image_size,
            protocol_setting,
            options.device,
        )
        bar.update()
        if options.device.type == "cuda":
            torch.cuda.empty_cache()  # leave the device's memory to the worker processes
        pin_memory = RunDevice(options.device).pin_memory

        def loader(count: int, cache: ImageCache | None) -> LoaderMeasurement:
            return measure_loader(
                index,
                profiled.data,
                profiled.training,
                images_per_class,
                count,
                options.loader_batches,
                pin_memory,
                image_cache=cache,
            )

        loaders = _interleaved_loaders(loader, loader_counts, image_cache, options, bar)
        workers = []
        for cached in worker_caching:
            run_config = worker_run_config(profiled, tree, options.device, options.steps, cached)
            workers += _measure_workers(run_config, loss_name, options, bar)
        bar.update()
    return TrainProfile(
        protocol=config.name,
        dataset=config.dataset,
        device=str(options.device),
        network=profiled.model.trunk,
        image_size=profiled.data.image_size,
        batch_size=batch_size,
        loss=loss_name,
        protocol_setting=protocol_setting,
        loader_workers_of_protocol=profiled.data.num_workers,
        steps=steps,
        loaders=loaders,
        workers=workers,
        worker_run=describe_worker_run(run_config, options.trials_per_worker),
        worker_run_device=RunDevice.from_config(run_config.training).describe(),
        evaluation=evaluation,
        protocol_caches=profiled.data.cache_images,
        cores=usable_cores(),
        jpeg_size=options.jpeg_size,
        cache_note=cache_note,
        device_name=device_name(options.device),
        config=profiled,
        cores_per_device=options.cores_per_device,
        epochs_per_training=options.epochs_per_training,
        pruning_saves=options.pruning_saves,
        pruning_source=options.pruning_source,
    )


def _loader_cache(
    index: DatasetIndex, profiled: ProtocolConfig, options: TrainProfileOptions
) -> tuple[ImageCache | None, str]:
    """The image cache of the tree for the protocol's train transform (built untimed), or None
    with the reason when the transform has nothing to cache exactly."""
    train_transform, _ = build_transforms(profiled.data)
    refusal = cache_refusal(profiled.data, train_transform)
    if refusal is not None:
        return None, f"the image cache is not measured: {refusal}"
    cache = ensure_image_cache(
        "cub", index.paths, train_transform, options.cache_dir, workers=0, progress=False
    )
    return cache, ""


def _interleaved_loaders(
    loader: Callable[[int, ImageCache | None], LoaderMeasurement],
    counts: list[int],
    cache: ImageCache | None,
    options: TrainProfileOptions,
    bar: Progress,
) -> list[LoaderMeasurement]:
    """Each round times every count from the files, then from the cache; rounds are pooled."""
    pooled: dict[tuple[int, bool], LoaderMeasurement] = {}
    for round_number in range(options.loader_rounds):
        for count in counts:
            bar.set_postfix(f"loader round {round_number + 1}, {count} workers")
            for source in (None, cache) if cache is not None else (None,):
                measured = loader(count, source)
                key = (count, source is not None)
                pooled[key] = pooled[key].pooled(measured) if key in pooled else measured
            bar.update()
    return [pooled[key] for key in sorted(pooled)]


def _worker_caching(profiled: ProtocolConfig, choice: WorkerCache) -> list[bool]:
    if choice not in ("protocol", "both"):
        raise ConfigError(f"--workers-cache must be 'protocol' or 'both', got {choice!r}")
    if choice == "both" and profiled.data.transform != "small":
        return [False, True]
    return [profiled.data.cache_images]


def device_name(device: torch.device) -> str:
    """The device in words: the GPU's name, or the CPU."""
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} ({device})"
    return f"CPU ({usable_cores()} cores usable by this process)"


def _measure_workers(
    run_config: ProtocolConfig, loss_name: str, options: TrainProfileOptions, bar: Progress
) -> list[WorkerMeasurement]:
    """One fresh tiny run per worker count, in a temporary folder removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="mlrc-profile-workers-") as work_dir:
        return [
            measure_workers(
                run_config,
                loss_name,
                count,
                Path(work_dir) / f"workers-{count}",
                options.trials_per_worker,
                options.plugins,
            )
            for count in _advancing(bar, list(options.worker_counts), "mlrc workers")
        ]


def profiled_protocol(config: ProtocolConfig, network: Network) -> ProtocolConfig:
    """``config`` with random weights and, for ``network="small"``, the small CNN trunk."""
    if network not in ("protocol", "small"):
        raise ConfigError(f"--network must be 'protocol' or 'small', got {network!r}")
    trunk = "small_cnn" if network == "small" else config.model.trunk
    return replace(config, model=replace(config.model, trunk=trunk, weights="none"))


def tree_classes(classes_per_batch: int, n_folds: int, fold_scheme: str = "mlrc") -> int:
    """The fewest classes (even, at least 8) whose MLRC split gives every fold at least
    ``classes_per_batch`` training classes and 2 validation classes."""
    classes = 8
    while not all(
        len(fold.train_classes) >= classes_per_batch and len(fold.val_classes) >= 2
        for fold in build_folds(np.arange(classes // 2), n_folds, fold_scheme)
    ):
        classes += 2
    return classes


def worker_run_config(
    profiled: ProtocolConfig,
    tree: Path,
    device: torch.device,
    steps: int,
    cache_images: bool | None = None,
) -> ProtocolConfig:
    """The tiny run the worker processes share: the profiled protocol on the JPEG tree, each
    fold trained ``WORKER_RUN_EPOCHS`` epochs of ``steps`` iterations, validated every epoch
    (reading images through the image cache when ``cache_images``, default the protocol's)."""
    training = replace(
        profiled.training,
        device=str(device),
        iterations_per_epoch=steps,
        eval_every_epochs=1,
        max_epochs=WORKER_RUN_EPOCHS,
        patience_epochs=WORKER_RUN_EPOCHS,
        warmup_epochs=0,
    )
    cache_images = profiled.data.cache_images if cache_images is None else cache_images
    data = replace(profiled.data, root=str(tree), cache_images=cache_images)
    return replace(profiled, dataset="cub", data=data, training=training)


def describe_worker_run(run_config: ProtocolConfig, trials_per_worker: int) -> str:
    training = run_config.training
    return (
        f"tiny runs of {trials_per_worker} trial(s) per worker, each trial "
        f"{run_config.data.n_folds} trainings of {training.max_epochs} epochs x "
        f"{training.iterations_per_epoch} steps with {training.max_epochs + 1} validations; "
        "only their ratios carry over to full-length runs"
    )


def _check_options(options: TrainProfileOptions) -> None:
    if options.steps < 1 or options.warmup_steps < 0 or options.loader_batches < 1:
        raise ConfigError("--steps and the loader's batches must be >= 1 (warm-up steps >= 0)")
    if options.loader_rounds < 1 or min(options.jpeg_size) < 8:
        raise ConfigError("--loader-rounds must be >= 1 and --jpeg-size at least 8x8 pixels")
    if options.cores_per_device < 1 or options.epochs_per_training <= 0:
        raise ConfigError("--cores-per-device must be >= 1 and --epochs-per-training > 0")
    if not 0.0 <= options.pruning_saves < 1.0:
        raise ConfigError(f"--pruning-saves must lie in [0, 1), got {options.pruning_saves}")
    if any(count < 0 for count in options.loader_workers):
        raise ConfigError(f"--loader-workers must be >= 0, got {list(options.loader_workers)}")
    if any(count < 1 for count in options.worker_counts):
        raise ConfigError(f"--workers must be >= 1, got {list(options.worker_counts)}")


def _advancing(bar: Progress, items: list, label: str) -> Iterator:
    for item in items:
        bar.set_postfix(f"{label} {getattr(item, 'name', item)}")
        yield item
        bar.update()
