"""The result of ``mlrc profile train``: its rows, ratios, bottleneck sentence, table and CSV."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.config import ProtocolConfig
from benchmark.io import atomic_write_csv
from benchmark.profiling.loader import LoaderMeasurement
from benchmark.profiling.projection import (
    DEFAULT_CORES_PER_DEVICE,
    DEFAULT_EPOCHS_PER_TRAINING,
    ProjectedCost,
    ProjectionInputs,
    format_projection,
    project,
)
from benchmark.profiling.train_step import FP32, EvalMeasurement, StepMeasurement, StepSetting
from benchmark.profiling.workers import WorkerMeasurement

# k workers "pay off" when they finish at least this many times the trainings/hour of one.
WORKERS_PAY_OFF = 1.15

# Loader and worker rows read images from the files or through the image cache.
FROM_FILES = "jpeg_files"
FROM_CACHE = "image_cache"

TRAIN_PROFILE_COLUMNS = (
    "measurement",  # step | eval | loader | workers | projection
    "setting",  # step/eval: fp32, tf32, bf16, ...; loader: jpeg_files | image_cache; workers:
    # mlrc_worker (+image_cache); projection: <images from>, pruning <yes|no>
    "count",  # step: timed steps; eval: batches; loader: worker processes; workers: mlrc worker
    # processes; projection: workers per device
    "device",
    "run_device",  # what the run device made of the setting
    "network",
    "image_size",
    "batch_size",
    "loss",
    "value",
    "unit",  # images/s | trainings/hour | device-hours
    "seconds",  # step: median step; loader: timed window; workers: first trial start -> last end
    "ratio",
    "ratio_to",
    "per_core",  # loader: images/s per core busy loading
    "status",
)


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

    def loader(self, num_workers: int, cached: bool | None = None) -> LoaderMeasurement | None:
        """The loader measured with ``num_workers`` processes, from the cache or the files
        (default: as the protocol reads, when measured)."""
        if cached is None:
            cached = self.protocol_caches and any(m.cached for m in self.loaders)
        return next(
            (m for m in self.loaders if m.num_workers == num_workers and m.cached == cached),
            None,
        )

    def one_worker(self, cached: bool | None = None) -> WorkerMeasurement | None:
        return next(
            (
                m
                for m in self.workers
                if m.processes == 1 and m.trainings_per_hour and cached in (None, m.cached)
            ),
            None,
        )

    def per_core(self, cached: bool) -> float | None:
        """Loader images/s per core with the fewest processes measured (ideally 1)."""
        measured = [m for m in self.loaders if m.cached == cached]
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
        for measured in self.loaders:
            files = self.loader(measured.num_workers, cached=False)
            if measured.cached and files is not None:
                name = f"image cache / JPEG files, {measured.num_workers} loader workers"
                ratios.append((name, measured.images_per_s / files.images_per_s))
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
            if m.cached == loader.cached and m.images_per_s >= step.images_per_s
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

    def rows(self) -> list[dict[str, Any]]:
        """One CSV row per measurement, with the keys of :data:`TRAIN_PROFILE_COLUMNS`."""
        return [
            *self._step_rows(),
            *self._eval_rows(),
            *self._loader_rows(),
            *self._worker_rows(),
            *self._projection_rows(),
        ]

    def _row(self, **values: Any) -> dict[str, Any]:
        row = dict.fromkeys(TRAIN_PROFILE_COLUMNS)
        row.update(
            device=self.device,
            network=self.network,
            image_size=self.image_size,
            batch_size=self.batch_size,
            loss=self.loss,
            status="ok",
        )
        row.update(values)
        return row

    def _step_rows(self) -> list[dict[str, Any]]:
        fp32 = self.step(FP32)
        return [
            self._row(
                measurement="step",
                setting=m.setting.name,
                count=m.steps,
                run_device=m.run_device,
                value=m.images_per_s,
                unit="images/s",
                seconds=m.median_step_s,
                ratio=m.images_per_s / fp32.images_per_s if fp32 else None,
                ratio_to="fp32" if fp32 else None,
            )
            for m in self.steps
        ]

    def _eval_rows(self) -> list[dict[str, Any]]:
        m, step = self.evaluation, self.step(self.protocol_setting)
        if m is None:
            return []
        return [
            self._row(
                measurement="eval",
                setting=m.setting.name,
                count=m.batches,
                value=m.images_per_s,
                unit="images/s",
                seconds=m.window_s,
                ratio=m.images_per_s / step.images_per_s if step else None,
                ratio_to=f"step ({self.protocol_setting.name})" if step else None,
            )
        ]

    def _loader_rows(self) -> list[dict[str, Any]]:
        step = self.step(self.protocol_setting)
        return [
            self._row(
                measurement="loader",
                setting=FROM_CACHE if m.cached else FROM_FILES,
                count=m.num_workers,
                value=m.images_per_s,
                unit="images/s",
                seconds=m.window_s,
                ratio=m.images_per_s / step.images_per_s if step else None,
                ratio_to=f"step ({self.protocol_setting.name})" if step else None,
                per_core=m.images_per_s_per_core(self.cores),
            )
            for m in self.loaders
        ]

    def _projection_rows(self) -> list[dict[str, Any]]:
        projection = self.projection()
        if projection is None:
            return []
        return [
            self._row(
                measurement="projection",
                setting=(
                    f"{FROM_CACHE if cost.cached else FROM_FILES}, "
                    f"pruning {'yes' if cost.pruned else 'no'}"
                ),
                count=cost.workers,
                run_device=f"bound by the {cost.bound_by}",
                value=cost.device_hours,
                unit="device-hours",
                seconds=cost.hours_per_training * 3600,
            )
            for cost in projection[1]
        ]

    def _worker_rows(self) -> list[dict[str, Any]]:
        return [self._worker_row(m, self.one_worker(m.cached)) for m in self.workers]

    def _worker_row(self, m: WorkerMeasurement, one: WorkerMeasurement | None) -> dict[str, Any]:
        return self._row(
            measurement="workers",
            setting="mlrc_worker+image_cache" if m.cached else "mlrc_worker",
            count=m.processes,
            run_device=self.worker_run_device,
            value=m.trainings_per_hour,
            unit="trainings/hour",
            seconds=m.window_s if m.status == "ok" else None,
            ratio=m.trainings_per_hour / one.trainings_per_hour
            if one and one.trainings_per_hour and m.trainings_per_hour
            else None,
            ratio_to="1 worker" if one and m.trainings_per_hour else None,
            status=m.status,
        )


def format_train_profile(profile: TrainProfile) -> str:
    """The measurements as a table, then the ratios and the bottleneck sentence."""
    lines = [
        f"mlrc profile train: protocol {profile.protocol}, network {profile.network}, "
        f"{profile.image_size} px, batch {profile.batch_size}, loss {profile.loss}, "
        f"device {profile.device}"
    ]
    if profile.on_cpu:
        lines.append(
            "note: on the CPU the run device ignores bf16 autocast, TF32 and channels_last: "
            "every step setting computes in fp32 (ratios ~1 show the timing noise), and the "
            "loader and the step compete for the same cores"
        )
    header = (
        f"{'measurement':<12} {'setting':<22} {'count':>5} {'value':>12} {'unit':<15} "
        f"{'seconds':>9}  ratio"
    )
    lines += ["", header, "-" * len(header)]
    for row in profile.rows():
        value = "" if row["value"] is None else f"{row['value']:.1f}"
        seconds = "" if row["seconds"] is None else f"{row['seconds']:.3f}"
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}x {row['ratio_to']}"
        status = "" if row["status"] == "ok" else f"  {row['status']}"
        lines.append(
            f"{row['measurement']:<12} {row['setting']:<22} {row['count']:>5} {value:>12} "
            f"{row['unit']:<15} {seconds:>9}  {ratio}{status}"
        )
    lines += ["", f"ratios (measured in this run on {profile.device}):"]
    lines += [f"  {name} = {value:.2f}x" for name, value in profile.ratios()]
    lines += ["", *_loader_section(profile)]
    lines += ["", profile.bottleneck()]
    if profile.workers:
        threads = ", ".join(f"{m.threads} with {m.processes} workers" for m in profile.workers)
        lines.append(f"trainings/hour: {profile.worker_run}")
        lines.append(f"CPU threads of each worker process (OMP_NUM_THREADS): {threads}")
    projection = profile.projection()
    if projection is not None:
        lines += ["", format_projection(*projection)]
    return "\n".join(lines)


def _loader_section(profile: TrainProfile) -> list[str]:
    """Loader images/s per core, from the files and from the cache, and the cores a training
    step needs."""
    width, height = profile.jpeg_size
    lines = [
        f"loader per core ({width}x{height} JPEG files of quality 90 in CUB's layout; "
        f"{profile.cores} cores usable here, each process counted as one core up to that; "
        "on a shared machine per-core rates are noisy, their ratio less so):",
        f"  {'processes':>9} {'JPEG files':>16} {'image cache':>16}  cache / files",
    ]
    for count in sorted({m.num_workers for m in profile.loaders}):
        files, cache = profile.loader(count, False), profile.loader(count, True)
        cells = []
        for m in (files, cache):
            per_core = m.images_per_s_per_core(profile.cores) if m else None
            cells.append(f"{per_core:>9.1f} /core" if per_core else f"{'-':>15}")
        ratio = f"{cache.images_per_s / files.images_per_s:.2f}x" if files and cache else "-"
        processes = files.processes if files else count
        label = f"{processes}" + (" (main)" if count == 0 else "")
        lines.append(f"  {label:>9} {cells[0]:>16} {cells[1]:>16}  {ratio}")
    if profile.cache_note:
        lines.append(f"  {profile.cache_note}")
    step = profile.step(profile.protocol_setting)
    if step is None:  # then no core is needed either (cores_needed)
        return lines
    for source, rate, cores in profile.cores_needed():
        lines.append(
            f"one training step ({step.images_per_s:.0f} images/s in "
            f"{profile.protocol_setting.name}) needs {cores:.1f} loader cores reading {source} "
            f"({rate:.0f} images/s per core)"
        )
    return lines


def write_train_profile_csv(rows: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Write the rows to ``path`` as CSV, atomically."""
    path = Path(path)
    atomic_write_csv(path, rows, TRAIN_PROFILE_COLUMNS)
    return path
