"""Images/s of full training steps, timed through the Trainer itself.

One step is what training does for each mini-batch: :meth:`Trainer.forward_and_backward`
(batch placed on the device, forward under the run's autocast, loss, backward) followed by
:meth:`Trainer.step_optimizers`. The batch is random images of the protocol's size and
labels composed as the loss's sampler composes them (``batch / m`` classes x ``m`` images).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass, replace
from typing import Any

import torch

from benchmark.config import ModelConfig, TrainingConfig
from benchmark.data.device_transform import DeviceTransform
from benchmark.engine import LossBundle, RunDevice, Trainer, embed
from benchmark.losses import get_loss_spec
from benchmark.models import build_model
from benchmark.profiling.measure import batch_labels, synchronize

# Size of the loss's class-indexed parameters (proxies, mean fields): CUB's train+val classes.
# A step's cost hardly depends on it next to the network's.
STEP_NUM_CLASSES = 100
# Learning rate of the loss's own parameters while timing (the cost does not depend on it).
PROFILE_LOSS_LR = 1e-4


@dataclass(frozen=True)
class StepSetting:
    """How the run device computes: bf16 autocast, channels_last, TF32 (all CUDA only)."""

    amp: bool = False
    channels_last: bool = False
    tf32: bool = False

    @property
    def name(self) -> str:
        parts = [("bf16", self.amp), ("tf32", self.tf32), ("channels_last", self.channels_last)]
        return "+".join(part for part, on in parts if on) or "fp32"

    @classmethod
    def of(cls, config: TrainingConfig) -> StepSetting:
        """The setting a protocol trains with."""
        return cls(config.amp, config.channels_last, config.tf32)


FP32 = StepSetting()
STEP_SETTINGS: tuple[StepSetting, ...] = (
    FP32,
    StepSetting(tf32=True),
    StepSetting(amp=True),
    StepSetting(channels_last=True),
    StepSetting(amp=True, channels_last=True),
)


@dataclass(frozen=True)
class StepMeasurement:
    """The median time of one training step in one setting."""

    setting: StepSetting
    run_device: str
    """What the run device made of the setting (``RunDevice.describe()``)."""
    batch_size: int
    steps: int
    median_step_s: float

    @property
    def images_per_s(self) -> float:
        return self.batch_size / self.median_step_s


def measure_training_step(
    model_config: ModelConfig,
    training_config: TrainingConfig,
    image_size: int,
    setting: StepSetting,
    device: torch.device,
    loss_name: str,
    steps: int,
    warmup_steps: int = 2,
    seed: int = 0,
    finish: DeviceTransform | None = None,
) -> StepMeasurement:
    """Time ``steps`` training steps after ``warmup_steps`` untimed ones; report the median.

    The network is built from ``model_config`` (on the CPU, then placed by the Trainer), the
    loss ``loss_name`` with its builder's default hyperparameters, the batch from
    ``training_config.batch_size`` and ``image_size``: uint8 pixels that ``finish`` (the
    pipeline's device transform) turns into the network's input on the device within each
    step, or (None) float images. Each step is timed from before the batch is placed on the
    device to after the optimizers stepped, CUDA synchronised.
    """
    config, model = _profiled(model_config, training_config, setting, device, seed)
    spec = get_loss_spec(loss_name)
    params = {"loss_lr": PROFILE_LOSS_LR} if spec.has_parameters else {}
    num_classes = max(STEP_NUM_CLASSES, config.batch_size // spec.images_per_class)
    loss = LossBundle.build(loss_name, params, num_classes, model_config.embedding_size)
    with tempfile.TemporaryDirectory(prefix="mlrc-profile-step-") as fit_dir:
        trainer = Trainer(model, loss, config, fit_dir, seed, progress=False)
        trainer.prepare()
        model.train()
        loss.module.train()
        run_device = trainer.run_device
        images, labels = random_batch(
            config.batch_size, spec.images_per_class, num_classes, image_size, run_device, finish
        )
        times = []
        for step in range(warmup_steps + steps):
            synchronize(run_device.device)
            start = time.perf_counter()
            trainer.forward_and_backward(images, labels, finish)
            trainer.step_optimizers(True)
            synchronize(run_device.device)
            if step >= warmup_steps:
                times.append(time.perf_counter() - start)
    return StepMeasurement(
        setting, run_device.describe(), config.batch_size, steps, statistics.median(times)
    )


def _profiled(
    model_config: ModelConfig,
    training_config: TrainingConfig,
    setting: StepSetting,
    device: torch.device,
    seed: int,
) -> tuple[TrainingConfig, torch.nn.Module]:
    """The training settings of ``setting`` on ``device``, and the protocol's network built
    from ``seed``."""
    config = replace(
        training_config,
        device=str(device),
        amp=setting.amp,
        channels_last=setting.channels_last,
        tf32=setting.tf32,
    )
    torch.manual_seed(seed)
    return config, build_model(model_config)


def random_batch(
    batch_size: int,
    images_per_class: int,
    num_classes: int,
    image_size: int,
    run_device: RunDevice,
    finish: DeviceTransform | None = None,
) -> tuple[Any, torch.Tensor]:
    """Random images and sampler-shaped labels on the host, as a DataLoader hands them over:
    uint8 pixels batched by ``finish`` (float images without it), page-locked when the run
    device pins its batches."""
    generator = torch.Generator().manual_seed(0)
    labels = batch_labels(batch_size, num_classes, images_per_class, generator, grouped=True)
    if finish is None:
        images = torch.randn(batch_size, 3, image_size, image_size, generator=generator)
    else:
        items = RandomPixels(finish, batch_size, image_size)
        images = finish.collate([items[i][0] for i in range(batch_size)])
    if run_device.pin_memory:
        images, labels = _pinned(images), labels.pin_memory()
    return images, labels


def _pinned(batch: Any) -> Any:
    """A batch (a tensor, or a named tuple of them) in page-locked memory, as a loader with
    ``pin_memory`` delivers it."""
    if isinstance(batch, tuple):
        return type(batch)(*(tensor.pin_memory() for tensor in batch))
    return batch.pin_memory()


class RandomPixels(torch.utils.data.Dataset):
    """``count`` random uint8 items of ``size`` x ``size`` pixels, shaped as ``finish``'s
    pipeline makes them (label 0 each); ``finish`` turns their batches into the input."""

    def __init__(self, finish: DeviceTransform, count: int, size: int, seed: int = 0):
        generator = torch.Generator().manual_seed(seed)
        shape = (count, *finish.item_shape(size, size))
        self.pixels = torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator)
        self.device_transform = finish

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.pixels[i], 0


@dataclass(frozen=True)
class EvalMeasurement:
    """Images/s of the evaluation forward pass (``embed``: eval mode, no gradients)."""

    setting: StepSetting
    batch_size: int
    batches: int
    window_s: float

    @property
    def images_per_s(self) -> float:
        return self.batches * self.batch_size / self.window_s


def measure_eval_forward(
    model_config: ModelConfig,
    training_config: TrainingConfig,
    image_size: int,
    setting: StepSetting,
    device: torch.device,
    batches: int = 3,
    seed: int = 0,
    finish: DeviceTransform | None = None,
) -> EvalMeasurement:
    """Time :func:`~benchmark.engine.embed` over ``batches`` batches of
    ``training_config.eval_batch_size`` random images (uint8 pixels that ``finish`` turns into
    the input on the device; float images without it), after one untimed pass."""

    config, model = _profiled(model_config, training_config, setting, device, seed)
    run_device = RunDevice.from_config(config)
    size = config.eval_batch_size
    dataset: torch.utils.data.Dataset
    if finish is None:
        images = torch.randn(batches * size, 3, image_size, image_size)
        labels = torch.zeros(len(images), dtype=torch.int64)
        dataset = torch.utils.data.TensorDataset(images, labels)
    else:
        dataset = RandomPixels(finish, batches * size, image_size)
    embed(model, torch.utils.data.Subset(dataset, range(size)), run_device, batch_size=size)
    synchronize(run_device.device)
    start = time.perf_counter()
    embed(model, dataset, run_device, batch_size=size)
    synchronize(run_device.device)
    return EvalMeasurement(setting, size, batches, time.perf_counter() - start)
