"""What one ``mlrc profile train`` measured, and what follows from it: ratios, the loader's
rates per core, the cores a training step needs, the bottleneck, the CUB projection.

The table and CSV that show it are :mod:`benchmark.profiling.train_report`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.config import ProtocolConfig
from benchmark.profiling.loader import FLOAT_ON_HOST, UINT8, LoaderMeasurement
from benchmark.profiling.projection import (
    DEFAULT_CORES_PER_DEVICE,
    DEFAULT_EPOCHS_PER_TRAINING,
    ProjectedCost,
    ProjectionInputs,
    project,
)
from benchmark.profiling.train_step import FP32, EvalMeasurement, StepMeasurement, StepSetting
from benchmark.profiling.workers import WorkerMeasurement

# k workers "pay off" when they finish at least this many times the trainings/hour of one.
WORKERS_PAY_OFF = 1.15


@dataclass
class TrainProfile:
    """Everything one ``mlrc profile train`` measured, on one device, in one run."""

    protocol: str
    dataset: str
    device: str
    network: str
    image_size: int
    batch_size: int
    loss: str
    protocol_setting: StepSetting
    loader_workers_of_protocol: int
    steps: list[StepMeasurement]
    loaders: list[LoaderMeasurement]
    workers: list[WorkerMeasurement]
    worker_run: str = ""
    """How the tiny run of each worker measurement trains (printed under the table)."""
    worker_run_device: str = ""
    """What the workers' run device makes of the protocol's settings."""
    evaluation: EvalMeasurement | None = None
    protocol_caches: bool = False
    """The protocol's ``data.cache_images``: which loader its training step is compared with."""
    cores: int = 1
    """CPU cores this process could use (per-core loader rates divide by at most this)."""
    jpeg_size: tuple[int, int] = (500, 375)
    cache_note: str = ""
    device_name: str = ""
    config: ProtocolConfig | None = None
    """The profiled protocol (for the projection's budgets)."""
    cores_per_device: int = DEFAULT_CORES_PER_DEVICE
    epochs_per_training: float = DEFAULT_EPOCHS_PER_TRAINING
    pruning_saves: float = 0.0
    pruning_source: str = ""

    @property
    def on_cpu(self) -> bool:
        return self.device.startswith("cpu")

    def step(self, setting: StepSetting) -> StepMeasurement | None:
        return next((m for m in self.steps if m.setting == setting), None)

    def loader(
        self, num_workers: int, cached: bool | None = None, batch: str = UINT8
    ) -> LoaderMeasurement | None:
        """The loader measured with ``num_workers`` processes, from the cache or the files
        (default: as the protocol reads, when measured), with ``batch`` batches (default
        uint8, as training loads)."""
        if cached is None:
            cached = self.protocol_caches and any(m.cached for m in self.loaders)
        return next(
            (
                m
                for m in self.loaders
                if m.num_workers == num_workers and m.cached == cached and m.batch == batch
            ),
            None,
        )

    def batch_bytes(self, batch: str) -> int | None:
        """Bytes one ``batch`` batch moves through the loader's shared memory (the same from
        the files and from the cache)."""
        return next((m.batch_bytes for m in self.loaders if m.batch == batch), None)

    def one_worker(self, cached: bool | None = None) -> WorkerMeasurement | None:
        return next(
            (
                m
                for m in self.workers
                if m.processes == 1 and m.trainings_per_hour and cached in (None, m.cached)
            ),
            None,
        )

    def per_core(self, cached: bool, batch: str = UINT8) -> float | None:
        """Loader images/s per core with the fewest processes measured (ideally 1)."""
        measured = [m for m in self.loaders if m.cached == cached and m.batch == batch]
        if not measured:
            return None
        fewest = min(measured, key=lambda m: (m.processes, m.num_workers == 0))  # a worker
        return fewest.images_per_s_per_core(self.cores)

    def cores_needed(self) -> list[tuple[str, float, float]]:
        """``(source, per-core rate, cores)`` one training step at the protocol's setting needs
        to be fed, from the files and from the cache."""
        step = self.step(self.protocol_setting)
        needed = []
        for cached, source in ((False, "JPEG files"), (True, "the image cache")):
            rate = self.per_core(cached)
            if step is not None and rate:
                needed.append((source, rate, step.images_per_s / rate))
        return needed

    def projection(self) -> tuple[ProjectionInputs, list[ProjectedCost]] | None:
        """The CUB column of Table 1 from these rates (on CUB, for a protocol that searches)."""
        step = self.step(self.protocol_setting)
        files = self.per_core(False)
        config = self.config
        if (
            self.dataset != "cub"
            or config is None
            or not config.study.search
            or config.study.params_from is not None
            or step is None
            or self.evaluation is None
            or not files
        ):
            return None
        gains = self._worker_gains()
        inputs = ProjectionInputs.for_protocol(
            config,
            device=self.device_name or self.device,
            step_images_per_s=step.images_per_s,
            eval_images_per_s=self.evaluation.images_per_s,
            loader_per_core=files,
            cached_loader_per_core=self.per_core(True),
            worker_gain=gains or {1: 1.0},
            measured_gain=bool(gains),
            cores_per_device=self.cores_per_device,
            epochs_per_training=self.epochs_per_training,
            pruning_saves=self.pruning_saves,
            pruning_source=self.pruning_source,
        )
        return inputs, project(inputs)

    def _worker_gains(self) -> dict[int, float]:
        """Trainings/hour of k workers over one, from the cache variant when it was measured
        (the step, not the loader, then limits the tiny runs)."""
        cached = any(m.cached for m in self.workers)
        one = self.one_worker(cached)
        if one is None or not one.trainings_per_hour:  # one_worker's is always measured
            return {}
        return {
            m.processes: m.trainings_per_hour / one.trainings_per_hour
            for m in self.workers
            if m.cached == cached and m.trainings_per_hour
        }

    def ratios(self) -> list[tuple[str, float]]:
        """``(name, value)`` of every ratio the run can give, in the order they are printed."""
        ratios = []
        fp32 = self.step(FP32)
        for measured in self.steps:
            if fp32 is not None and measured.setting != FP32:
                ratios.append(
                    (f"{measured.setting.name} / fp32", measured.images_per_s / fp32.images_per_s)
                )
        step, loader = (
            self.step(self.protocol_setting),
            self.loader(self.loader_workers_of_protocol),
        )
        if step is not None and loader is not None:
            name = f"loader / step at data.num_workers={loader.num_workers}"
            ratios.append((name, loader.images_per_s / step.images_per_s))
        ratios += self._loader_ratios()
        for measured in self.workers:
            one = self.one_worker(measured.cached)
            if (
                one is not None
                and one.trainings_per_hour
                and measured.processes != 1
                and measured.trainings_per_hour
            ):
                cache = " (image cache)" if measured.cached else ""
                name = f"{measured.processes} workers / 1 worker{cache}"
                ratios.append((name, measured.trainings_per_hour / one.trainings_per_hour))
        for measured in self.workers:
            files = next(
                (m for m in self.workers if m.processes == measured.processes and not m.cached),
                None,
            )
            if (
                measured.cached
                and files
                and files.trainings_per_hour
                and measured.trainings_per_hour
            ):
                name = f"image cache / JPEG files, {measured.processes} mlrc workers"
                ratios.append((name, measured.trainings_per_hour / files.trainings_per_hour))
        return ratios

    def _loader_ratios(self) -> list[tuple[str, float]]:
        """Cache over files with uint8 batches, uint8 over the float baseline, then the cache with
        uint8 batches over the files with float ones (the loader before either), per count."""
        ratios = []
        counts = sorted({m.num_workers for m in self.loaders})
        for count in counts:
            files, cache = self.loader(count, False), self.loader(count, True)
            if files is not None and cache is not None:
                name = f"image cache / JPEG files, {count} loader workers"
                ratios.append((name, cache.images_per_s / files.images_per_s))
        for count in counts:
            for cached, source in ((False, "JPEG files"), (True, "image cache")):
                uint8, baseline = (self.loader(count, cached, b) for b in (UINT8, FLOAT_ON_HOST))
                if uint8 is not None and baseline is not None:
                    name = f"{UINT8} / {FLOAT_ON_HOST}, {source}, {count} loader workers"
                    ratios.append((name, uint8.images_per_s / baseline.images_per_s))
        for count in counts:  # the loader of training now, over the loader before uint8 batches
            cache, files = self.loader(count, True), self.loader(count, False, FLOAT_ON_HOST)
            if cache is not None and files is not None:
                name = (
                    f"image cache ({UINT8}) / JPEG files ({FLOAT_ON_HOST}), {count} loader workers"
                )
                ratios.append((name, cache.images_per_s / files.images_per_s))
        return ratios

    def bottleneck(self) -> str:
        """One sentence: loader or step, and whether more workers per device pay off."""
        parts = [self._loader_or_step()]
        scaling = self._worker_scaling()
        if scaling:
            parts.append(scaling)
        return "bottleneck: " + "; ".join(part for part in parts if part) + "."

    def _loader_or_step(self) -> str:
        step, loader = (
            self.step(self.protocol_setting),
            self.loader(self.loader_workers_of_protocol),
        )
        if step is None or loader is None:
            return "not measured (no step or no loader measurement at the protocol's settings)"
        workers = f"data.num_workers={loader.num_workers}"
        if loader.cached:
            workers += " from the image cache"
        setting = self.protocol_setting.name
        if loader.images_per_s >= step.images_per_s:
            return (
                f"the training step ({step.images_per_s:.0f} images/s in {setting}); the loader "
                f"delivers {loader.images_per_s:.0f} images/s with {workers}, "
                f"{loader.images_per_s / step.images_per_s:.2f}x what the step consumes"
            )
        text = (
            f"the data loader ({loader.images_per_s:.0f} images/s with {workers}, "
            f"{loader.images_per_s / step.images_per_s:.2f}x the {step.images_per_s:.0f} "
            f"images/s a step in {setting} consumes)"
        )
        enough = [
            m
            for m in self.loaders
            if m.cached == loader.cached
            and m.batch == UINT8
            and m.images_per_s >= step.images_per_s
        ]
        if enough:
            fewest = min(enough, key=lambda m: m.num_workers)
            return text + f", data.num_workers={fewest.num_workers} keeps up"
        return text + ", and no measured worker count keeps up: raise data.num_workers further"

    def _worker_scaling(self) -> str:
        cached = self.protocol_caches and any(m.cached for m in self.workers)
        one = self.one_worker(cached)
        others = [
            m
            for m in self.workers
            if m.processes != 1 and m.trainings_per_hour and m.cached == cached
        ]
        if one is None or not one.trainings_per_hour or not others:
            return ""
        rates = [(m.trainings_per_hour, m) for m in others if m.trainings_per_hour]  # all others
        best_rate, best = max(rates, key=lambda pair: pair[0])
        ratio = best_rate / one.trainings_per_hour
        where = "on the CPU" if self.on_cpu else "per GPU"
        if ratio >= WORKERS_PAY_OFF:
            return (
                f"{best.processes} worker processes {where} pay off "
                f"({ratio:.2f}x the trainings/hour of one)"
            )
        return (
            f"more worker processes {where} do not pay off (the best, {best.processes}, "
            f"gives {ratio:.2f}x the trainings/hour of one)"
        )
