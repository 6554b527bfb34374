"""The result of ``mlrc profile train``: its rows, ratios, bottleneck sentence, table and CSV."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.io import atomic_write_csv
from benchmark.profiling.loader import LoaderMeasurement
from benchmark.profiling.train_step import FP32, StepMeasurement, StepSetting
from benchmark.profiling.workers import WorkerMeasurement

# k workers "pay off" when they finish at least this many times the trainings/hour of one.
WORKERS_PAY_OFF = 1.15

TRAIN_PROFILE_COLUMNS = (
    "measurement",  # step | loader | workers
    "setting",  # step: fp32, tf32, bf16, ...; loader: train_augmentation; workers: mlrc_worker
    "count",  # step: timed steps; loader: worker processes; workers: mlrc worker processes
    "device",
    "run_device",  # what the run device made of the setting
    "network",
    "image_size",
    "batch_size",
    "loss",
    "value",
    "unit",  # images/s | trainings/hour
    "seconds",  # step: median step; loader: timed window; workers: first trial start -> last end
    "ratio",
    "ratio_to",
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

    @property
    def on_cpu(self) -> bool:
        return self.device.startswith("cpu")

    def step(self, setting: StepSetting) -> StepMeasurement | None:
        return next((m for m in self.steps if m.setting == setting), None)

    def loader(self, num_workers: int) -> LoaderMeasurement | None:
        return next((m for m in self.loaders if m.num_workers == num_workers), None)

    def one_worker(self) -> WorkerMeasurement | None:
        return next((m for m in self.workers if m.processes == 1 and m.trainings_per_hour), None)

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
        one = self.one_worker()
        for measured in self.workers:
            if one is not None and measured.processes != 1 and measured.trainings_per_hour:
                name = f"{measured.processes} workers / 1 worker"
                ratios.append((name, measured.trainings_per_hour / one.trainings_per_hour))
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
        enough = [m for m in self.loaders if m.images_per_s >= step.images_per_s]
        if enough:
            fewest = min(enough, key=lambda m: m.num_workers)
            return text + f", data.num_workers={fewest.num_workers} keeps up"
        return text + ", and no measured worker count keeps up: raise data.num_workers further"

    def _worker_scaling(self) -> str:
        one = self.one_worker()
        others = [m for m in self.workers if m.processes != 1 and m.trainings_per_hour]
        if one is None or not others:
            return ""
        best = max(others, key=lambda m: m.trainings_per_hour)
        ratio = best.trainings_per_hour / one.trainings_per_hour
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
        return [*self._step_rows(), *self._loader_rows(), *self._worker_rows()]

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

    def _loader_rows(self) -> list[dict[str, Any]]:
        step = self.step(self.protocol_setting)
        return [
            self._row(
                measurement="loader",
                setting="train_augmentation",
                count=m.num_workers,
                value=m.images_per_s,
                unit="images/s",
                seconds=m.window_s,
                ratio=m.images_per_s / step.images_per_s if step else None,
                ratio_to=f"step ({self.protocol_setting.name})" if step else None,
            )
            for m in self.loaders
        ]

    def _worker_rows(self) -> list[dict[str, Any]]:
        one = self.one_worker()
        return [
            self._row(
                measurement="workers",
                setting="mlrc_worker",
                count=m.processes,
                run_device=self.worker_run_device,
                value=m.trainings_per_hour,
                unit="trainings/hour",
                seconds=m.window_s if m.status == "ok" else None,
                ratio=m.trainings_per_hour / one.trainings_per_hour
                if one and m.trainings_per_hour
                else None,
                ratio_to="1 worker" if one and m.trainings_per_hour else None,
                status=m.status,
            )
            for m in self.workers
        ]


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
    lines += ["", profile.bottleneck()]
    if profile.workers:
        threads = ", ".join(f"{m.threads} with {m.processes} workers" for m in profile.workers)
        lines.append(f"trainings/hour: {profile.worker_run}")
        lines.append(f"CPU threads of each worker process (OMP_NUM_THREADS): {threads}")
    return "\n".join(lines)


def write_train_profile_csv(rows: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Write the rows to ``path`` as CSV, atomically."""
    path = Path(path)
    atomic_write_csv(path, rows, TRAIN_PROFILE_COLUMNS)
    return path
