"""The table and the CSV of ``mlrc profile train``: one row per measurement, the ratios, the
loader's rates per core and bytes per batch, the bottleneck sentence, the projection."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmark.io import atomic_write_csv
from benchmark.profiling.loader import FLOAT_ON_HOST, UINT8
from benchmark.profiling.projection import format_projection
from benchmark.profiling.train_profile import TrainProfile
from benchmark.profiling.train_step import FP32
from benchmark.profiling.workers import WorkerMeasurement

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
    "batch",  # loader: uint8 (what training loads) | float_on_host (the baseline before uint8)
    "batch_bytes",  # loader: bytes of one batch through the workers' shared memory
    "status",
)


def train_profile_rows(profile: TrainProfile) -> list[dict[str, Any]]:
    """One CSV row per measurement, with the keys of :data:`TRAIN_PROFILE_COLUMNS`."""
    return [
        *_step_rows(profile),
        *_eval_rows(profile),
        *_loader_rows(profile),
        *_worker_rows(profile),
        *_projection_rows(profile),
    ]


def _row(profile: TrainProfile, **values: Any) -> dict[str, Any]:
    row = dict.fromkeys(TRAIN_PROFILE_COLUMNS)
    row.update(
        device=profile.device,
        network=profile.network,
        image_size=profile.image_size,
        batch_size=profile.batch_size,
        loss=profile.loss,
        status="ok",
    )
    row.update(values)
    return row


def _step_rows(profile: TrainProfile) -> list[dict[str, Any]]:
    fp32 = profile.step(FP32)
    return [
        _row(
            profile,
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
        for m in profile.steps
    ]


def _eval_rows(profile: TrainProfile) -> list[dict[str, Any]]:
    m, step = profile.evaluation, profile.step(profile.protocol_setting)
    if m is None:
        return []
    return [
        _row(
            profile,
            measurement="eval",
            setting=m.setting.name,
            count=m.batches,
            value=m.images_per_s,
            unit="images/s",
            seconds=m.window_s,
            ratio=m.images_per_s / step.images_per_s if step else None,
            ratio_to=f"step ({profile.protocol_setting.name})" if step else None,
        )
    ]


def _loader_rows(profile: TrainProfile) -> list[dict[str, Any]]:
    step = profile.step(profile.protocol_setting)
    return [
        _row(
            profile,
            measurement="loader",
            setting=FROM_CACHE if m.cached else FROM_FILES,
            count=m.num_workers,
            value=m.images_per_s,
            unit="images/s",
            seconds=m.window_s,
            ratio=m.images_per_s / step.images_per_s if step else None,
            ratio_to=f"step ({profile.protocol_setting.name})" if step else None,
            per_core=m.images_per_s_per_core(profile.cores),
            batch=m.batch,
            batch_bytes=m.batch_bytes,
        )
        for m in profile.loaders
    ]


def _projection_rows(profile: TrainProfile) -> list[dict[str, Any]]:
    projection = profile.projection()
    if projection is None:
        return []
    return [
        _row(
            profile,
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


def _worker_rows(profile: TrainProfile) -> list[dict[str, Any]]:
    return [_worker_row(profile, m, profile.one_worker(m.cached)) for m in profile.workers]


def _worker_row(
    profile: TrainProfile, m: WorkerMeasurement, one: WorkerMeasurement | None
) -> dict[str, Any]:
    return _row(
        profile,
        measurement="workers",
        setting="mlrc_worker+image_cache" if m.cached else "mlrc_worker",
        count=m.processes,
        run_device=profile.worker_run_device,
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
    lines += ["", *_table(train_profile_rows(profile))]
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


def _table(rows: list[dict[str, Any]]) -> list[str]:
    """One line per row; a loader row's setting says its batch (uint8 or the baseline)."""
    header = (
        f"{'measurement':<12} {'setting':<28} {'count':>5} {'value':>12} {'unit':<15} "
        f"{'seconds':>9}  ratio"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        setting = row["setting"] + (f" ({row['batch']})" if row["batch"] else "")
        value = "" if row["value"] is None else f"{row['value']:.1f}"
        seconds = "" if row["seconds"] is None else f"{row['seconds']:.3f}"
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}x {row['ratio_to']}"
        status = "" if row["status"] == "ok" else f"  {row['status']}"
        lines.append(
            f"{row['measurement']:<12} {setting:<28} {row['count']:>5} {value:>12} "
            f"{row['unit']:<15} {seconds:>9}  {ratio}{status}"
        )
    return lines


def _loader_section(profile: TrainProfile) -> list[str]:
    """Loader images/s per core, from the files and from the cache, and the cores a training
    step needs."""
    width, height = profile.jpeg_size
    lines = [
        f"loader per core ({width}x{height} JPEG files of quality 90 in CUB's layout; "
        f"{profile.cores} cores usable here, each process counted as one core up to that; "
        "on a shared machine per-core rates are noisy, their ratio less so), with uint8 "
        f"batches and, for comparison, the {FLOAT_ON_HOST} baseline (float32 batches made in "
        "the workers, as before uint8 batches):",
        f"  {'processes':>9} {'JPEG files':>15} {'image cache':>15} {'cache / files':>13}   "
        f"{FLOAT_ON_HOST + ':':<14} {'JPEG files':>15} {'image cache':>15} {'cache / files':>13}",
    ]
    for count in sorted({m.num_workers for m in profile.loaders}):
        label = f"{max(count, 1)}" + (" (main)" if count == 0 else "")
        cells = [_per_core_cells(profile, count, batch) for batch in (UINT8, FLOAT_ON_HOST)]
        lines.append(f"  {label:>9} {cells[0]}   {'':<14} {cells[1]}")
    uint8_bytes, float_bytes = (profile.batch_bytes(b) for b in (UINT8, FLOAT_ON_HOST))
    if uint8_bytes and float_bytes:
        lines.append(
            f"bytes per batch through the loader's shared memory (images and labels): "
            f"{uint8_bytes:,} with {UINT8} batches, {float_bytes:,} with {FLOAT_ON_HOST} "
            f"({float_bytes / uint8_bytes:.2f}x)"
        )
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


def _per_core_cells(profile: TrainProfile, count: int, batch: str) -> str:
    """Files and cache per core with ``count`` loader workers, and the cache's ratio."""
    files, cache = (profile.loader(count, cached, batch) for cached in (False, True))
    cells = []
    for m in (files, cache):
        per_core = m.images_per_s_per_core(profile.cores) if m else None
        cells.append(f"{per_core:>9.1f} /core" if per_core else f"{'-':>15}")
    ratio = f"{cache.images_per_s / files.images_per_s:.2f}x" if files and cache else "-"
    return f"{cells[0]:>15} {cells[1]:>15} {ratio:>13}"


def write_train_profile_csv(rows: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Write the rows (:func:`train_profile_rows`) to ``path`` as CSV, atomically."""
    path = Path(path)
    atomic_write_csv(path, rows, TRAIN_PROFILE_COLUMNS)
    return path
