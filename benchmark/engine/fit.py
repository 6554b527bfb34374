"""One training run: train to early stop, validating, checkpointing and resuming exactly."""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from benchmark.config import TrainingConfig
from benchmark.engine.checkpoint import (
    RunFiles,
    atomic_torch_save,
    atomic_write_json,
    load_best_model,
    write_curve,
)
from benchmark.engine.device import autocast, memory_format, resolve_device
from benchmark.engine.embeddings import embed
from benchmark.engine.epoch_sampler import EpochSampler
from benchmark.engine.fit_result import FitResult
from benchmark.engine.optimizers import build_optimizers, build_schedulers
from benchmark.engine.retrieval_metrics import retrieval_metrics
from benchmark.engine.seeding import derive_seed, seed_everything
from benchmark.errors import ConfigError, TrainingDiverged

EvalSet = Dataset | tuple[Dataset, Dataset]
"""A dataset that is its own reference, or a (query, gallery) pair as In-Shop's."""


@dataclass
class _Progress:
    """The bookkeeping of a run, saved in ``last.pt`` with the weights."""

    epoch: int = 0
    iteration: int = 0
    best_val_map_at_r: float = -math.inf
    best_epoch: int = 0
    best_iteration: int = 0
    last_eval_epoch: int = 0
    wall_time_s: float = 0.0
    curve: list[dict[str, Any]] = field(default_factory=list)


def fit(
    model: torch.nn.Module,
    loss: torch.nn.Module,
    *,
    train_set: Dataset,
    val_set: EvalSet,
    config: TrainingConfig,
    run_dir: str | Path,
    seed: int,
    loss_name: str,
    images_per_class: int,
    loss_lr: float | None = None,
    num_workers: int = 0,
    keep_checkpoint: bool = True,
    progress: bool = True,
    description: str = "",
    extra_eval_sets: dict[str, EvalSet] | None = None,
    on_validation: Callable[[dict[str, Any]], None] | None = None,
) -> FitResult:
    """Train ``model`` with ``loss`` until validation MAP@R stops improving; return the result.

    The run lives in ``run_dir``. Training goes in epochs of ``config.iterations_per_epoch``
    mini-batches of ``config.batch_size`` drawn ``images_per_class`` per class (PML's
    MPerClassSampler, ``drop_last``). Validation MAP@R is measured before training (epoch 0)
    and every ``config.eval_every_epochs`` epochs; the run stops when
    ``epoch - best_epoch > config.patience_epochs`` (the MLRC rule) or at ``config.max_epochs``.

    Optimizers: one per group (trunk at ``config.trunk_lr``, embedder at ``config.embedder_lr``,
    the loss's own parameters at ``loss_lr`` with ``config.loss_weight_decay``), RMSprop with
    momentum or AdamW; during the first ``config.warmup_epochs`` epochs the trunk is frozen;
    StepLR every ``config.lr_step_epochs`` epochs; model gradients clipped to
    ``config.grad_clip_value``. The loss sees raw embeddings (losses normalise themselves).

    Resumability: ``best.pt`` and ``last.pt`` are written atomically at every validation, with
    the learning curve (``curve.json``, ``curve.csv``). Every epoch reseeds torch, NumPy,
    ``random`` and the sampler from ``(seed, epoch)``, so a run killed at any point and fit
    again on the same ``run_dir`` resumes from its last validation and ends exactly as an
    uninterrupted run would (bitwise on the CPU with ``num_workers=0``; with worker processes
    the augmentation draws differ after a resume). A finished run (``result.json``) is
    returned at once without training; a diverged one (``diverged.json``) raises again.

    On return the model holds the best weights when they are on disk (always right after
    training); ``keep_checkpoint=False`` then deletes ``best.pt`` and ``last.pt`` but keeps the
    curve and ``result.json``.

    Args:
        model: an :class:`~benchmark.models.EmbeddingModel` (``.trunk`` and ``.embedder``).
        loss: ``loss(embeddings, labels) -> scalar``; may own parameters.
        train_set: a dataset of ``(image, label)`` with a ``.labels`` array.
        val_set: the validation dataset (its own reference), or a ``(query, gallery)`` pair.
        config: the protocol's training settings.
        run_dir: the run's directory (created if missing).
        seed: the run's seed.
        loss_name: the loss's registered name (for messages).
        images_per_class: the sampler's m (4 for pair losses, 1 for classification losses).
        loss_lr: learning rate of the loss's own parameters (required when it has some).
        num_workers: data-loading worker processes.
        keep_checkpoint: keep the weight files once finished.
        progress: show a tqdm bar.
        description: the bar's label.
        extra_eval_sets: datasets also evaluated at every validation (e.g. the test set, for
            learning curves); recorded as ``<name>_map_at_r`` etc., never used to stop.
        on_validation: called with each new learning-curve row once it is saved (e.g. to
            report to an Optuna pruner); an exception it raises stops the run, resumable.

    Raises:
        TrainingDiverged: the loss was NaN or infinite (before any weight was updated with it).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    files = RunFiles(run_dir)
    if files.result.is_file():
        result = FitResult.from_dict(json.loads(files.result.read_text()))
        if files.best.is_file():
            load_best_model(run_dir, model, loss)
        return result
    if files.diverged.is_file():
        info = json.loads(files.diverged.read_text())
        raise TrainingDiverged(info["loss_name"], info["iteration"], float(info["value"]))

    device = resolve_device(config.device)
    image_format = memory_format(device, config.channels_last)
    seed_everything(seed)
    model.to(device, memory_format=image_format)
    loss.to(device)
    optimizers = build_optimizers(model, loss, config, loss_lr, loss_name)
    schedulers = build_schedulers(optimizers, config)
    state = _Progress()
    identity = {"seed": int(seed), "loss_name": loss_name}

    eval_sets = {"val": val_set, **(extra_eval_sets or {})}
    if len(eval_sets) != 1 + len(extra_eval_sets or {}):
        raise ValueError("extra_eval_sets cannot be named 'val'")

    def evaluate() -> dict[str, float]:
        metrics = {}
        for name, dataset in eval_sets.items():
            values = _evaluate(model, dataset, config, device, num_workers)
            metrics.update({f"{name}_{k}": v for k, v in values.items()})
        return metrics

    def checkpoint(metrics: dict[str, float], mean_loss: float | None) -> None:
        """Record a validation; save best (if improved), then last, then the curve."""
        state.last_eval_epoch = state.epoch
        state.curve.append(
            {"iteration": state.iteration, "epoch": state.epoch, "loss": mean_loss, **metrics}
        )
        weights = {
            "model": model.state_dict(),
            "loss": loss.state_dict(),
            "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
        }
        if metrics["val_map_at_r"] > state.best_val_map_at_r or not files.best.is_file():
            state.best_val_map_at_r = metrics["val_map_at_r"]
            state.best_epoch, state.best_iteration = state.epoch, state.iteration
            atomic_torch_save(
                {
                    **weights,
                    **identity,
                    "epoch": state.epoch,
                    "iteration": state.iteration,
                    **metrics,
                },
                files.best,
            )
        state.wall_time_s += time.perf_counter() - session_start[0]
        session_start[0] = time.perf_counter()
        atomic_torch_save(
            {
                **weights,
                **identity,
                "schedulers": {name: s.state_dict() for name, s in schedulers.items()},
                "progress": asdict(state),
            },
            files.last,
        )
        write_curve(files, state.curve)
        if on_validation is not None:
            on_validation(dict(state.curve[-1]))

    session_start = [time.perf_counter()]
    if files.last.is_file():
        _restore(files.last, identity, model, loss, optimizers, schedulers, state, device)
    else:
        checkpoint(evaluate(), None)

    sampler = EpochSampler(
        np.asarray(train_set.labels),
        config.batch_size,
        images_per_class,
        length=config.iterations_per_epoch * config.batch_size,
        seed=seed,
    )
    loader = DataLoader(
        train_set,
        batch_size=config.batch_size,
        sampler=sampler,
        drop_last=True,
        num_workers=num_workers,
        pin_memory=device.type == "cuda",
        persistent_workers=num_workers > 0,
    )
    bar = tqdm(
        total=config.max_epochs * config.iterations_per_epoch,
        initial=state.iteration,
        desc=description or loss_name,
        leave=False,
        disable=not progress,
        dynamic_ncols=True,
    )
    last_val = state.curve[-1]["val_map_at_r"]
    losses: list[float] = []  # training losses since the last validation
    try:
        while not _should_stop(state, config):
            epoch = state.epoch + 1
            _seed_epoch(seed, epoch)
            sampler.set_epoch(epoch)
            trunk_trains = epoch > config.warmup_epochs
            if config.warmup_epochs > 0:
                model.trunk.requires_grad_(trunk_trains)
            model.train()
            loss.train()
            for images, labels in loader:
                state.iteration += 1
                images = images.to(device, non_blocking=True, memory_format=image_format)
                labels = labels.to(device, non_blocking=True)
                with autocast(device, config.amp):
                    embeddings = model(images)
                loss_value = loss(embeddings.float(), labels)
                value = float(loss_value.detach())
                if not math.isfinite(value):
                    _diverged(files, loss_name, state.iteration, value, keep_checkpoint)
                losses.append(value)
                for optimizer in optimizers.values():
                    optimizer.zero_grad(set_to_none=True)
                loss_value.backward()
                if config.grad_clip_value > 0:
                    torch.nn.utils.clip_grad_value_(model.parameters(), config.grad_clip_value)
                for name, optimizer in optimizers.items():
                    if name != "trunk" or trunk_trains:
                        optimizer.step()
                bar.update(1)
                bar.set_postfix(loss=f"{value:.4f}", val_map_at_r=f"{last_val:.4f}", refresh=False)
            for scheduler in schedulers.values():
                scheduler.step()
            state.epoch = epoch
            if epoch % config.eval_every_epochs == 0 or epoch >= config.max_epochs:
                if not _all_finite(model, loss):  # a finite loss can still step to inf weights
                    _diverged(files, loss_name, state.iteration, math.nan, keep_checkpoint)
                metrics = evaluate()
                last_val = metrics["val_map_at_r"]
                checkpoint(metrics, float(np.mean(losses)) if losses else None)
                losses = []
    finally:
        bar.close()
        if config.warmup_epochs > 0:
            model.trunk.requires_grad_(True)

    result = FitResult(
        best_val_map_at_r=float(state.best_val_map_at_r),
        best_iteration=state.best_iteration,
        iterations=state.iteration,
        wall_time_s=state.wall_time_s,
        curve=state.curve,
        checkpoint_path=files.best if keep_checkpoint else None,
        best_epoch=state.best_epoch,
        epochs=state.epoch,
        stopped_early=state.epoch < config.max_epochs,
    )
    load_best_model(run_dir, model, loss)
    atomic_write_json(files.result, result.to_dict())
    if not keep_checkpoint:
        files.best.unlink(missing_ok=True)
        files.last.unlink(missing_ok=True)
    return result


def _evaluate(
    model: torch.nn.Module,
    dataset: EvalSet,
    config: TrainingConfig,
    device: torch.device,
    num_workers: int = 0,
) -> dict[str, float]:
    def embeddings_of(images: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
        return embed(
            model,
            images,
            batch_size=config.eval_batch_size,
            device=device,
            num_workers=num_workers,
            amp=config.amp,
            channels_last=config.channels_last,
        )

    if isinstance(dataset, tuple):
        query, gallery = dataset
        return retrieval_metrics(*embeddings_of(query), *embeddings_of(gallery))
    return retrieval_metrics(*embeddings_of(dataset))


def _should_stop(state: _Progress, config: TrainingConfig) -> bool:
    """MLRC's rule, checked at validations only: ``epoch - best_epoch > patience``."""
    if state.epoch >= config.max_epochs:
        return True
    return state.last_eval_epoch - state.best_epoch > config.patience_epochs


def _seed_epoch(seed: int, epoch: int) -> None:
    """Make everything drawn during ``epoch`` a pure function of ``(seed, epoch)``."""
    epoch_seed = derive_seed(seed, epoch)
    random.seed(epoch_seed)
    np.random.seed(epoch_seed)
    torch.manual_seed(epoch_seed)


def _restore(
    path: Path,
    identity: dict[str, Any],
    model: torch.nn.Module,
    loss: torch.nn.Module,
    optimizers: dict[str, torch.optim.Optimizer],
    schedulers: dict[str, Any],
    state: _Progress,
    device: torch.device,
) -> None:
    checkpoint = torch.load(path, map_location=device, weights_only=True)
    for key, value in identity.items():
        if checkpoint.get(key) != value:
            raise ConfigError(
                f"{path} belongs to a run with {key}={checkpoint.get(key)!r}, not {value!r}; "
                "use another run directory or delete this one"
            )
    model.load_state_dict(checkpoint["model"])
    loss.load_state_dict(checkpoint["loss"])
    if set(checkpoint["optimizers"]) != set(optimizers):
        raise ConfigError(f"{path}: its optimizer groups differ from this run's; delete it")
    for name, optimizer in optimizers.items():
        optimizer.load_state_dict(checkpoint["optimizers"][name])
    for name, scheduler in schedulers.items():
        scheduler.load_state_dict(checkpoint["schedulers"][name])
    for key, value in checkpoint["progress"].items():
        setattr(state, key, value)


def _all_finite(*modules: torch.nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for m in modules for p in m.parameters())


def _diverged(
    files: RunFiles, loss_name: str, iteration: int, value: float, keep_checkpoint: bool
) -> None:
    atomic_write_json(
        files.diverged, {"loss_name": loss_name, "iteration": iteration, "value": repr(value)}
    )
    if not keep_checkpoint:
        files.best.unlink(missing_ok=True)
        files.last.unlink(missing_ok=True)
    raise TrainingDiverged(loss_name, iteration, value)
