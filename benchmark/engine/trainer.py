"""One training run: train to early stop, validating, checkpointing and resuming exactly."""

from __future__ import annotations

import json
import logging
import math
import random
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from torch.utils.data import DataLoader

from benchmark.config import TrainingConfig
from benchmark.engine.checkpoint import FitDirectory, load_best_model, load_checkpoint, write_curve
from benchmark.engine.device import RunDevice
from benchmark.engine.epoch_sampler import EpochSampler, ShuffledEpochSampler
from benchmark.engine.evaluation import EvalSet, evaluate
from benchmark.engine.fit_result import FitResult
from benchmark.engine.loss_bundle import LossBundle
from benchmark.engine.optimizers import build_optimizers, build_schedulers
from benchmark.engine.seeding import derive_seed, seed_everything
from benchmark.engine.train_loader import build_train_loader
from benchmark.errors import ConfigError, TrainingDiverged
from benchmark.io import atomic_torch_save, atomic_write_json
from benchmark.progress import Progress

if TYPE_CHECKING:
    from benchmark.data.image_set import ImageSet

_logger = logging.getLogger(__name__)


@dataclass
class TrainingState:
    """The bookkeeping of a run, saved in ``last.pt`` with the weights."""

    epoch: int = 0
    iteration: int = 0
    best_val_map_at_r: float = -math.inf
    best_epoch: int = 0
    best_iteration: int = 0
    last_eval_epoch: int = 0
    wall_time_s: float = 0.0
    curve: list[dict[str, Any]] = field(default_factory=list)


class Trainer:
    """Trains ``model`` with a loss until validation MAP@R stops improving.

    The run lives in ``fit_dir``. Training goes in epochs of ``config.iterations_per_epoch``
    mini-batches of ``config.batch_size`` (0: one pass over the training set), drawn
    ``loss.images_per_class`` per class (PML's MPerClassSampler, ``drop_last``) or shuffled
    (``config.batch_sampler``). Validation MAP@R is measured before training (epoch 0)
    and every ``config.eval_every_epochs`` epochs; the best checkpoint (and the fold's score) is
    the best evaluation after at least one epoch of training, as MLRC's aggregator ignores the
    untrained one, which stays in the learning curve. The run stops when
    ``epoch - best_epoch > config.patience_epochs`` (the MLRC rule) or at ``config.max_epochs``.

    What the protocol composes through ``config``: one optimizer per group (trunk, embedder,
    the loss's own parameters at ``loss.lr``), RMSprop with momentum or AdamW; a warm-up of
    ``config.warmup_epochs`` epochs with the trunk frozen; StepLR every
    ``config.lr_step_epochs`` epochs; model gradients clipped to ``config.grad_clip_value``;
    the stop rule (``patience_epochs`` or ``patience_evaluations``); Recall@K at evaluations.
    The loss sees raw embeddings (losses normalise themselves). Where the networks and batches
    go, and in which precision, is the :class:`RunDevice` of ``config``.

    Resumability: ``best.pt`` and ``last.pt`` are written atomically at every validation, with
    the learning curve (``curve.json``, ``curve.csv``). Every epoch reseeds torch, NumPy,
    ``random`` and the sampler from ``(seed, epoch)``, so a run killed at any point and fit
    again on the same ``fit_dir`` resumes from its last validation and ends exactly as an
    uninterrupted run would (bitwise on the CPU with ``num_workers=0``). A finished run
    (``result.json``) is returned at once; a diverged one (``diverged.json``) raises again.

    Args:
        model: an :class:`~benchmark.models.EmbeddingModel` (``.trunk`` and ``.embedder``).
        loss: the loss bundle (registration, module, learning rate of its parameters).
        config: the protocol's training settings.
        fit_dir: the fit's directory (created if missing).
        seed: the run's seed.
        num_workers: data-loading worker processes.
        keep_checkpoint: keep the weight files once finished (else only metrics remain).
        progress: show a progress bar labelled ``description`` on a terminal (else, and without
            it, a DEBUG line per epoch).
        on_evaluation: called with the trainer after every validation (and once after resuming);
            what it raises stops the run at once, leaving its last checkpoint as it is.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        loss: LossBundle,
        config: TrainingConfig,
        fit_dir: str | Path,
        seed: int,
        *,
        num_workers: int = 0,
        keep_checkpoint: bool = True,
        progress: bool = True,
        description: str = "",
        on_evaluation: Callable[[Trainer], None] | None = None,
    ):
        self.model = model
        self.loss = loss
        self.config = config
        self.files = FitDirectory(Path(fit_dir))
        self.seed = int(seed)
        self.num_workers = num_workers
        self.keep_checkpoint = keep_checkpoint
        self.progress = progress
        self.description = description or loss.name
        self.on_evaluation = on_evaluation
        self.run_device = RunDevice.from_config(config)
        self.state = TrainingState()
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, Any] = {}
        self._session_start = time.perf_counter()
        self._epoch_losses: list[float] = []  # training losses since the last validation

    @property
    def identity(self) -> dict[str, Any]:
        """What a checkpoint must match to be resumed by this run."""
        return {"seed": self.seed, "loss_name": self.loss.name}

    # -- the run ----------------------------------------------------------------------------

    def fit(self, train_set: ImageSet, val_set: EvalSet) -> FitResult:
        """Train to early stop on ``train_set``, validating on ``val_set``; return the result.

        On return the model holds the best weights. ``val_set`` is a dataset that is its own
        reference, or a ``(query, gallery)`` pair.

        Raises:
            TrainingDiverged: the loss (or a weight) became NaN or infinite.
        """
        finished = self._finished_result()
        if finished is not None:
            return finished
        self.files.fit_dir.mkdir(parents=True, exist_ok=True)
        self.prepare()
        if self.files.last.is_file():
            self.restore()
            _logger.debug("%s: resumed at epoch %d", self.files.fit_dir, self.state.epoch)
        else:
            self.validate(val_set)
        self._evaluated()
        loader = self.train_loader(train_set)
        with self._progress_bar(len(loader)) as bar:
            try:
                while not self.should_stop():
                    self.train_epoch(loader, bar)
                    if self._evaluation_due():
                        self.check_finite_weights()
                        self.validate(val_set)
                        self._evaluated()
            finally:
                self._end_warmup()
        return self._finish()

    def train_epoch(self, loader: DataLoader, bar: Progress) -> None:
        """One epoch over ``loader``, reseeded from ``(seed, epoch)``."""
        epoch = self.state.epoch + 1
        _seed_epoch(self.seed, epoch)
        # build_train_loader's sampler (its docstring): every epoch a pure function of its number
        cast(EpochSampler | ShuffledEpochSampler, loader.sampler).set_epoch(epoch)
        trunk_trains = self._set_warmup(epoch)
        self.model.train()
        self.loss.module.train()
        for images, labels in loader:
            self.state.iteration += 1
            value = self.forward_and_backward(images, labels)
            self.step_optimizers(trunk_trains)
            bar.set_postfix(loss=f"{value:.4f}", val_map_at_r=f"{self._last_val:.4f}")
            bar.update(1)
        with warnings.catch_warnings():  # the trunk's optimizer did not step during warm-up
            warnings.filterwarnings("ignore", "Detected call of `lr_scheduler.step", UserWarning)
            for scheduler in self.schedulers.values():
                scheduler.step()
        self.state.epoch = epoch

    def forward_and_backward(self, images: torch.Tensor, labels: torch.Tensor) -> float:
        """The loss of one mini-batch and its gradients; a non-finite loss raises at once."""
        device = self.run_device
        images, labels = device.place_images(images), device.place_labels(labels)
        with device.autocast():
            embeddings = self.model(images)
        loss_value = self.loss.module(embeddings.float(), labels)
        value = float(loss_value.detach())
        if not math.isfinite(value):
            self._diverged(value)
        self._epoch_losses.append(value)
        for optimizer in self.optimizers.values():
            optimizer.zero_grad(set_to_none=True)
        loss_value.backward()
        if self.config.grad_clip_value > 0:
            torch.nn.utils.clip_grad_value_(self.model.parameters(), self.config.grad_clip_value)
        return value

    def step_optimizers(self, trunk_trains: bool) -> None:
        for name, optimizer in self.optimizers.items():
            if name != "trunk" or trunk_trains:
                optimizer.step()

    def validate(self, val_set: EvalSet) -> dict[str, Any]:
        """Measure the validation metrics, record them and checkpoint (best first, then last)."""
        metrics = evaluate(
            self.model,
            val_set,
            self.run_device,
            batch_size=self.config.eval_batch_size,
            num_workers=self.num_workers,
            recall_at=self.config.recall_at,
        )
        mean_loss = float(np.mean(self._epoch_losses)) if self._epoch_losses else None
        self._epoch_losses = []
        row = {
            "iteration": self.state.iteration,
            "epoch": self.state.epoch,
            "loss": mean_loss,
            **{f"val_{name}": value for name, value in metrics.items()},
        }
        self.state.last_eval_epoch = self.state.epoch
        self.state.curve.append(row)
        if self._improves(metrics["map_at_r"]):
            self.state.best_val_map_at_r = metrics["map_at_r"]
            self.state.best_epoch, self.state.best_iteration = (
                self.state.epoch,
                self.state.iteration,
            )
            self.save_best(row)
        self.save_last()
        write_curve(self.files, self.state.curve)
        return row

    def should_stop(self) -> bool:
        """At ``max_epochs``; else, checked at validations, MLRC's rule ``epoch - best_epoch >
        patience_epochs``, or with ``patience_evaluations`` that many evaluations in a row
        without a new best."""
        if self.state.epoch >= self.config.max_epochs:
            return True
        if self.config.patience_evaluations > 0:
            since_best = sum(row["epoch"] > self.state.best_epoch for row in self.state.curve[1:])
            return since_best >= self.config.patience_evaluations
        return self.state.last_eval_epoch - self.state.best_epoch > self.config.patience_epochs

    def check_finite_weights(self) -> None:
        """A finite loss can still step weights to infinity: that is divergence too."""
        weights = [p for m in (self.model, self.loss.module) for p in m.parameters()]
        finite = [torch.isfinite(p).all() for p in weights]
        if finite and not bool(torch.stack(finite).all()):  # one device sync, not one per tensor
            self._diverged(math.nan)

    # -- checkpoints ------------------------------------------------------------------------

    def save_best(self, metrics: dict[str, Any]) -> None:
        atomic_torch_save(
            {
                **self._weights(),
                **self.identity,
                "epoch": self.state.epoch,
                "iteration": self.state.iteration,
                **{k: v for k, v in metrics.items() if k.startswith("val_")},
            },
            self.files.best,
        )

    def save_last(self) -> None:
        now = time.perf_counter()
        self.state.wall_time_s += now - self._session_start
        self._session_start = now
        atomic_torch_save(
            {
                **self._weights(),
                **self.identity,
                "schedulers": {name: s.state_dict() for name, s in self.schedulers.items()},
                "progress": asdict(self.state),
            },
            self.files.last,
        )

    def restore(self) -> None:
        """Continue from ``last.pt`` (weights, optimizers, schedulers, progress)."""
        path = self.files.last
        checkpoint = load_checkpoint(path, self.identity, self.run_device.device)
        self.model.load_state_dict(checkpoint["model"])
        self.loss.module.load_state_dict(checkpoint["loss"])
        if set(checkpoint["optimizers"]) != set(self.optimizers):
            raise ConfigError(f"{path}: its optimizer groups differ from this run's; delete it")
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(checkpoint["optimizers"][name])
        for name, scheduler in self.schedulers.items():
            scheduler.load_state_dict(checkpoint["schedulers"][name])
        self.state = TrainingState(**checkpoint["progress"])

    def _weights(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "loss": self.loss.module.state_dict(),
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
        }

    # -- internals --------------------------------------------------------------------------

    def _finished_result(self) -> FitResult | None:
        if self.files.result.is_file():
            _logger.debug("%s: finished earlier, its result is reused", self.files.fit_dir)
            result = FitResult.from_dict(json.loads(self.files.result.read_text()))
            if self.files.best.is_file():
                self.run_device.place_model(self.model)
                load_best_model(self.files.fit_dir, self.model, self.loss.module)
            return result
        if self.files.diverged.is_file():
            info = json.loads(self.files.diverged.read_text())
            raise TrainingDiverged(info["loss_name"], info["iteration"], float(info["value"]))
        return None

    def prepare(self) -> None:
        """Seed, place the networks on the run's device and build the optimizers (``fit`` calls
        it; a profiler may call it to time single steps)."""
        seed_everything(self.seed)
        self.run_device.place_model(self.model)
        self.run_device.place_module(self.loss.module)
        self.optimizers = build_optimizers(self.model, self.loss, self.config)
        self.schedulers = build_schedulers(self.optimizers, self.config)
        self.state = TrainingState()
        self._session_start = time.perf_counter()

    def train_loader(self, train_set: ImageSet) -> DataLoader:
        """The training loader of this run (see :func:`build_train_loader`)."""
        return build_train_loader(
            train_set,
            self.config,
            self.loss.images_per_class,
            seed=self.seed,
            num_workers=self.num_workers,
            pin_memory=self.run_device.pin_memory,
        )

    def _progress_bar(self, iterations_per_epoch: int) -> Progress:
        return Progress(
            self.description,
            self.config.max_epochs * iterations_per_epoch,
            logger=_logger,
            unit="iteration",
            initial=self.state.iteration,
            bars=self.progress,
            level=logging.DEBUG,
            log_every=iterations_per_epoch,
            leave=False,
        )

    @property
    def _last_val(self) -> float:
        return self.state.curve[-1]["val_map_at_r"]

    def _improves(self, val_map_at_r: float) -> bool:
        """A new best, among evaluations after at least one epoch of training."""
        if self.state.epoch == 0:
            return False
        return val_map_at_r > self.state.best_val_map_at_r or not self.files.best.is_file()

    def _evaluated(self) -> None:
        if self.on_evaluation is not None:
            self.on_evaluation(self)

    def _evaluation_due(self) -> bool:
        epoch = self.state.epoch
        return epoch % self.config.eval_every_epochs == 0 or epoch >= self.config.max_epochs

    def _set_warmup(self, epoch: int) -> bool:
        """Freeze the trunk during the warm-up epochs; True when the trunk trains this epoch."""
        trunk_trains = epoch > self.config.warmup_epochs
        if self.config.warmup_epochs > 0:
            self.model.trunk.requires_grad_(trunk_trains)
        return trunk_trains

    def _end_warmup(self) -> None:
        if self.config.warmup_epochs > 0:
            self.model.trunk.requires_grad_(True)

    def _finish(self) -> FitResult:
        state = self.state
        result = FitResult(
            best_val_map_at_r=float(state.best_val_map_at_r),
            best_iteration=state.best_iteration,
            iterations=state.iteration,
            wall_time_s=state.wall_time_s,
            curve=state.curve,
            checkpoint_path=self.files.best if self.keep_checkpoint else None,
            best_epoch=state.best_epoch,
            epochs=state.epoch,
            stopped_early=state.epoch < self.config.max_epochs,
        )
        load_best_model(self.files.fit_dir, self.model, self.loss.module)
        atomic_write_json(self.files.result, result.to_dict())
        if not self.keep_checkpoint:
            self.files.delete_weights()
        return result

    def _diverged(self, value: float) -> None:
        atomic_write_json(
            self.files.diverged,
            {"loss_name": self.loss.name, "iteration": self.state.iteration, "value": repr(value)},
        )
        if not self.keep_checkpoint:
            self.files.delete_weights()
        raise TrainingDiverged(self.loss.name, self.state.iteration, value)


def _seed_epoch(seed: int, epoch: int) -> None:
    """Make everything drawn during ``epoch`` a pure function of ``(seed, epoch)``."""
    epoch_seed = derive_seed(seed, epoch)
    random.seed(epoch_seed)
    np.random.seed(epoch_seed)
    torch.manual_seed(epoch_seed)
