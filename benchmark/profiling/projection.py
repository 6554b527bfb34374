"""What the CUB column of Table 1 costs in device-hours: a projection from measured rates.

The column is 10 losses, each a study of 50 trials x 4 fold trainings, then the best
configuration retrained 10 times x 4 folds (and each retrained fold model embeds the test half).
One training of ``E`` epochs trains ``E x iterations_per_epoch x batch_size`` images and
validates ``E / eval_every + 1`` times on its fold's validation images. When ``w`` trainings
share one device and its ``C`` loader cores, the device processes

    min(S x g(w), C x L)      training images/s,  and      min(F x g(w), C x L)  validation ones,

where ``S`` is the measured training-step rate, ``F`` the evaluation forward rate, ``g(w)`` the
measured gain of ``w`` workers per device (trainings/hour of ``w`` over those of one; 1 when not
measured) and ``L`` the loader's images/s per core (reading JPEG files, or the image cache). So

    device-hours = losses x (trials x folds x (1 - p) + repeats x folds) x t_train
                   + losses x repeats x folds x t_test,

with ``t_train`` the device-seconds of one training, ``t_test`` those of one test embedding and
``p`` the fraction of the study's training epochs a pruner saves (a pruned trial stops inside
its fold, so the saving is in epochs, the device time, not in whole fold trainings; default: the
saving ``mlrc profile pruners`` measured, :data:`~benchmark.store.pruning_saving.MEASURED_PRUNING`).
Every input is printed with the result, so that anyone can redo it with their own numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from benchmark.config import ProtocolConfig
from benchmark.store.pruning_saving import MEASURED_PRUNING

# CUB-200-2011 under the MLRC split: classes 1-100 (5,864 images) train and validate, classes
# 101-200 (5,924 images) test; the 4 folds validate on about a quarter of the train+val images.
CUB_TRAINVAL_IMAGES = 5864
CUB_TEST_IMAGES = 5924
TABLE1_LOSSES = 10
DEFAULT_EPOCHS_PER_TRAINING = 50.0
"""An assumption (set it with --epochs-per-training): a fold's best epoch plus the patience."""
DEFAULT_CORES_PER_DEVICE = 8
GIVEN_PRUNING_SOURCE = "given on the command line"


def pruning_saving(given: float | None) -> tuple[float, str]:
    """``--pruning-saves``: the fraction given, else the measured one, with its source."""
    if given is None:
        return MEASURED_PRUNING.epochs_saved, MEASURED_PRUNING.source
    return given, GIVEN_PRUNING_SOURCE


@dataclass(frozen=True)
class ProjectionInputs:
    """Everything the projection is computed from (printed with it)."""

    device: str
    step_images_per_s: float
    eval_images_per_s: float
    loader_per_core: float
    cached_loader_per_core: float | None
    worker_gain: Mapping[int, float] = field(default_factory=lambda: {1: 1.0})
    """``w`` -> trainings/hour of ``w`` workers per device over those of one."""
    measured_gain: bool = False
    cores_per_device: int = DEFAULT_CORES_PER_DEVICE
    epochs_per_training: float = DEFAULT_EPOCHS_PER_TRAINING
    pruning_saves: float = 0.0
    pruning_source: str = ""
    """Where ``pruning_saves`` comes from (a measurement, or the command line)."""
    losses: int = TABLE1_LOSSES
    trials: int = 50
    folds: int = 4
    repeats: int = 10
    iterations_per_epoch: int = 100
    batch_size: int = 32
    eval_every_epochs: int = 2
    val_images: float = CUB_TRAINVAL_IMAGES / 4
    test_images: float = CUB_TEST_IMAGES

    @classmethod
    def for_protocol(cls, config: ProtocolConfig, **values: Any) -> ProjectionInputs:
        """The protocol's budgets and schedule (trials, folds, repeats, epoch length)."""
        training = config.training
        return cls(
            trials=config.study.n_trials,
            folds=config.data.n_folds,
            repeats=config.retrain.repeats,
            iterations_per_epoch=training.iterations_per_epoch,
            batch_size=training.batch_size,
            eval_every_epochs=training.eval_every_epochs,
            val_images=CUB_TRAINVAL_IMAGES / config.data.n_folds,
            **values,
        )


@dataclass(frozen=True)
class ProjectedCost:
    """The device-hours of the column in one scenario."""

    cached: bool
    pruned: bool
    workers: int
    device_hours: float
    bound_by: str
    """``device`` or ``loader``: what limits the training images/s."""
    hours_per_training: float


def project(inputs: ProjectionInputs) -> list[ProjectedCost]:
    """Each scenario: JPEG files or image cache, pruning or not, 1/2/4 workers per device."""
    costs = []
    loaders = [(False, inputs.loader_per_core)]
    if inputs.cached_loader_per_core is not None:
        loaders.append((True, inputs.cached_loader_per_core))
    for cached, per_core in loaders:
        for pruned in (False, True):
            for workers, gain in sorted(inputs.worker_gain.items()):
                costs.append(_cost(inputs, cached, per_core, pruned, workers, gain))
    return costs


def trainings(inputs: ProjectionInputs, pruned: bool) -> tuple[float, float]:
    """Fold trainings of the studies (after pruning) and of the retrains."""
    saved = inputs.pruning_saves if pruned else 0.0
    study = inputs.losses * inputs.trials * inputs.folds * (1.0 - saved)
    return study, inputs.losses * inputs.repeats * inputs.folds


def _cost(
    inputs: ProjectionInputs, cached: bool, per_core: float, pruned: bool, workers: int, gain: float
) -> ProjectedCost:
    loader = inputs.cores_per_device * per_core
    train_rate = min(inputs.step_images_per_s * gain, loader)
    eval_rate = min(inputs.eval_images_per_s * gain, loader)
    epochs = inputs.epochs_per_training
    train_images = epochs * inputs.iterations_per_epoch * inputs.batch_size
    val_images = (epochs / inputs.eval_every_epochs + 1) * inputs.val_images
    per_training = train_images / train_rate + val_images / eval_rate
    test = inputs.test_images / eval_rate
    study, retrain = trainings(inputs, pruned)
    seconds = (study + retrain) * per_training + retrain * test
    bound_by = "loader" if loader < inputs.step_images_per_s * gain else "device"
    return ProjectedCost(cached, pruned, workers, seconds / 3600, bound_by, per_training / 3600)


def format_projection(inputs: ProjectionInputs, costs: list[ProjectedCost]) -> str:
    """The formula, every input, and the device-hours of each scenario."""
    gains = ", ".join(f"g({w}) = {g:.2f}" for w, g in sorted(inputs.worker_gain.items()))
    gain_source = "measured" if inputs.measured_gain else "not measured: assumed"
    cached = (
        f"{inputs.cached_loader_per_core:.0f} images/s per core with the image cache"
        if inputs.cached_loader_per_core is not None
        else "no image cache measured"
    )
    study, retrain = trainings(inputs, pruned=False)
    lines = [
        f"projection: the CUB column of Table 1 ({inputs.losses} losses x {inputs.trials} "
        f"trials x {inputs.folds} folds, then {inputs.repeats} repeats x {inputs.folds} folds) on "
        f"{inputs.device}",
        "  device-hours = losses x (trials x folds x (1 - p) + repeats x folds) x t_train "
        "+ losses x repeats x folds x t_test",
        "  t_train = E x iterations x batch / min(S x g(w), C x L) + (E / every + 1) x V / "
        "min(F x g(w), C x L);  t_test = T / min(F x g(w), C x L)",
        "  inputs:",
        f"    S = {inputs.step_images_per_s:.1f} training images/s (measured step rate)",
        f"    F = {inputs.eval_images_per_s:.1f} evaluation images/s (measured forward rate)",
        f"    L = {inputs.loader_per_core:.1f} images/s per core reading JPEG files; {cached} "
        "(measured, 1 loader process)",
        f"    C = {inputs.cores_per_device} loader cores per device (--cores-per-device)",
        f"    {gains} ({gain_source})",
        f"    E = {inputs.epochs_per_training:g} epochs per training (an assumption: "
        "--epochs-per-training; `mlrc status` of a real run gives the mean)",
        f"    iterations = {inputs.iterations_per_epoch}, batch = {inputs.batch_size}, every = "
        f"{inputs.eval_every_epochs} epochs, V = {inputs.val_images:.0f} validation images, "
        f"T = {inputs.test_images:.0f} test images",
        f"    p = {inputs.pruning_saves:.2f} of the study's training epochs saved by pruning "
        f"(--pruning-saves: {inputs.pruning_source or 'given'}); {study:.0f} study + "
        f"{retrain:.0f} retrain trainings unpruned",
        "",
        f"  {'images from':<12} {'pruning':<8} {'workers/device':>14} {'h/training':>10} "
        f"{'device-hours':>12}  bound by",
    ]
    for cost in costs:
        source = "image cache" if cost.cached else "JPEG files"
        lines.append(
            f"  {source:<12} {'yes' if cost.pruned else 'no':<8} {cost.workers:>14} "
            f"{cost.hours_per_training:>10.3f} {cost.device_hours:>12.0f}  {cost.bound_by}"
        )
    return "\n".join(lines)
