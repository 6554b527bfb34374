"""`mlrc profile train` on the CPU with the small network: its ratios, CSV, and each measurement."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from benchmark.cli import main
from benchmark.config import load_protocol
from benchmark.data import build_folds, read_cub
from benchmark.engine import Trainer
from benchmark.profiling.cub_jpeg import ensure_cub_jpeg_tree
from benchmark.profiling.loader import LoaderMeasurement, measure_loader, warmup_batches
from benchmark.profiling.train import profiled_protocol, tree_classes
from benchmark.profiling.train_report import TRAIN_PROFILE_COLUMNS, TrainProfile
from benchmark.profiling.train_step import (
    FP32,
    STEP_SETTINGS,
    StepMeasurement,
    StepSetting,
    measure_training_step,
)
from benchmark.profiling.workers import WorkerMeasurement, wait_for_workers

# MLRC's protocol shrunk so that the whole command runs in well under a minute on 2 cores: the
# small CNN (--network small) at 64 px, batch 16 of a pair loss (4 classes x 4 images), 2 folds.
SMALL_SETTINGS = [
    "training.batch_size=16",
    "data.image_size=64",
    "data.resize=72",
    "data.num_workers=0",
    "data.n_folds=2",
    "model.small_cnn_width=8",
]
STEP_NAMES = ["fp32", "tf32", "bf16", "channels_last", "bf16+channels_last"]


@pytest.fixture(scope="module")
def profile_run(tmp_path_factory):
    """``mlrc profile train --device cpu --network small`` once: (exit code, stdout, CSV rows)."""
    csv_path = tmp_path_factory.mktemp("profile") / "train.csv"
    args = ["profile", "train", "--protocol", "mlrc", "--device", "cpu", "--network", "small"]
    args += ["--loss", "contrastive", "--steps", "2", "--loader-workers", "0,1"]
    args += ["--loader-batches", "3", "--workers", "1,2", "--csv", str(csv_path), "--no-progress"]
    args += ["--jpeg-size", "96x72", "--loader-rounds", "2"]
    args += [arg for item in SMALL_SETTINGS for arg in ("--set", item)]
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(args)
    with open(csv_path, newline="") as csv_file:
        rows = list(csv.DictReader(csv_file))
    return code, stdout.getvalue(), rows


def _printed_ratio(output: str, name: str) -> float:
    match = re.search(rf"^  {re.escape(name)} = ([0-9.]+)x$", output, re.MULTILINE)
    assert match, f"ratio '{name}' not printed in:\n{output}"
    return float(match.group(1))


def _row(rows, measurement: str, key: str, setting: str | None = None) -> dict:
    field = "setting" if measurement == "step" else "count"
    return next(
        r
        for r in rows
        if r["measurement"] == measurement and r[field] == key and setting in (None, r["setting"])
    )


def test_profile_train_measures_every_setting_loader_count_and_worker_count(profile_run):
    code, _, rows = profile_run
    assert code == 0
    assert tuple(rows[0]) == TRAIN_PROFILE_COLUMNS
    assert [r["setting"] for r in rows if r["measurement"] == "step"] == STEP_NAMES
    loaders = [(r["count"], r["setting"]) for r in rows if r["measurement"] == "loader"]
    assert loaders == [
        ("0", "jpeg_files"), ("0", "image_cache"), ("1", "jpeg_files"), ("1", "image_cache"),
    ]  # fmt: skip
    assert [r["count"] for r in rows if r["measurement"] == "workers"] == ["1", "2"]
    assert [r["setting"] for r in rows if r["measurement"] == "eval"] == ["fp32"]
    projected = [(r["setting"], r["count"]) for r in rows if r["measurement"] == "projection"]
    assert projected == [
        (f"{source}, pruning {pruned}", workers)
        for source in ("jpeg_files", "image_cache")
        for pruned in ("no", "yes")
        for workers in ("1", "2")
    ]
    for row in rows:
        assert row["status"] == "ok", row
        assert float(row["value"]) > 0 and float(row["seconds"]) > 0
        assert (row["device"], row["network"], row["image_size"]) == ("cpu", "small_cnn", "64")
    for row in rows:
        if row["measurement"] == "loader":  # one process on one of the 2+ cores
            assert float(row["per_core"]) == pytest.approx(float(row["value"]), rel=1e-9)
    # on the CPU the run device computes every setting in fp32
    assert {r["run_device"] for r in rows if r["measurement"] == "step"} == {"cpu (fp32)"}


def test_profile_train_csv_ratios_are_values_over_their_reference_row(profile_run):
    _, _, rows = profile_run
    fp32 = float(_row(rows, "step", "fp32")["value"])
    one_worker = float(_row(rows, "workers", "1")["value"])
    for row in rows:
        if row["measurement"] == "projection":
            continue
        reference = {"step": fp32, "eval": fp32, "loader": fp32, "workers": one_worker}
        expected = float(row["value"]) / reference[row["measurement"]]
        assert float(row["ratio"]) == pytest.approx(expected, rel=1e-9)
    assert _row(rows, "loader", "0")["ratio_to"] == "step (fp32)"  # MLRC trains in fp32


def test_profile_train_prints_the_ratios_of_its_csv_and_the_bottleneck(profile_run):
    _, output, rows = profile_run
    fp32 = float(_row(rows, "step", "fp32")["value"])
    for name in STEP_NAMES[1:]:
        expected = float(_row(rows, "step", name)["value"]) / fp32
        assert _printed_ratio(output, f"{name} / fp32") == pytest.approx(expected, abs=0.006)
    # MLRC reads through the image cache (data.cache_images: true): its loader is the cache's.
    loader = float(_row(rows, "loader", "0", "image_cache")["value"]) / fp32
    printed = _printed_ratio(output, "loader / step at data.num_workers=0")
    assert printed == pytest.approx(loader, abs=0.006)
    for count in ("0", "1"):
        cache = float(_row(rows, "loader", count, "image_cache")["value"])
        files = float(_row(rows, "loader", count, "jpeg_files")["value"])
        name = f"image cache / JPEG files, {count} loader workers"
        assert _printed_ratio(output, name) == pytest.approx(cache / files, abs=0.006)
    step = float(_row(rows, "step", "fp32")["value"])
    per_core = float(_row(rows, "loader", "1", "image_cache")["per_core"])
    needs = re.search(r"needs ([0-9.]+) loader cores reading the image cache", output)
    assert needs and float(needs.group(1)) == pytest.approx(step / per_core, abs=0.06)
    assert "loader per core (96x72 JPEG files of quality 90" in output
    assert "projection: the CUB column of Table 1 (10 losses x 50 trials x 2 folds" in output
    workers = float(_row(rows, "workers", "2")["value"]) / float(
        _row(rows, "workers", "1")["value"]
    )
    name = "2 workers / 1 worker (image cache)"  # the worker runs read as MLRC does
    assert _printed_ratio(output, name) == pytest.approx(workers, abs=0.006)
    assert "on the CPU the run device ignores bf16 autocast, TF32 and channels_last" in output
    bottleneck = next(line for line in output.splitlines() if line.startswith("bottleneck: "))
    assert ("the data loader" in bottleneck) == (loader < 1)
    assert "worker processes on the CPU" in bottleneck


def test_measured_step_is_the_trainers_own_step(monkeypatch):
    calls = {"forward_and_backward": 0, "step_optimizers": 0}
    for name in calls:
        original = getattr(Trainer, name)

        def counted(self, *args, _original=original, _name=name):
            calls[_name] += 1
            return _original(self, *args)

        monkeypatch.setattr(Trainer, name, counted)
    config = profiled_protocol(load_protocol("mlrc", "cub", SMALL_SETTINGS), "small")
    measurement = measure_training_step(
        config.model,
        config.training,
        32,
        FP32,
        torch.device("cpu"),
        "mfcwms",
        steps=3,
        warmup_steps=2,
    )
    assert calls == {"forward_and_backward": 5, "step_optimizers": 5}
    assert measurement.steps == 3 and measurement.batch_size == 16
    assert measurement.images_per_s == pytest.approx(16 / measurement.median_step_s)


def test_step_settings_are_named_by_what_they_switch_on():
    assert [setting.name for setting in STEP_SETTINGS] == STEP_NAMES
    training = load_protocol("mlrc", "cub", ["training.amp=true", "training.tf32=true"]).training
    assert StepSetting.of(training).name == "bf16+tf32"


def test_loader_decodes_every_image_of_each_batch_from_disk(tmp_path, monkeypatch):
    import benchmark.data.image_set as image_set

    decoded = []
    original = image_set.load_image
    monkeypatch.setattr(
        image_set, "load_image", lambda path: decoded.append(path) or original(path)
    )
    tree = ensure_cub_jpeg_tree(8, 3, image_size=48, cache_dir=tmp_path)
    config = load_protocol(
        "mlrc", "cub", ["data.image_size=32", "data.resize=40", "training.batch_size=8"]
    )
    measurement = measure_loader(
        read_cub(tree), config.data, config.training, 4, num_workers=0, batches=3
    )
    assert measurement.batches == 3 and measurement.window_s > 0
    assert len(decoded) == (warmup_batches(0) + 3) * 8
    assert all(str(path).endswith(".jpg") for path in decoded)


def test_cub_jpeg_tree_has_cubs_layout_and_real_jpeg_files(tmp_path):
    # Enough classes that every MLRC fold fills a batch of 32 distinct classes, so that
    # 'mlrc data check' (which also checks the folds) finds no problem.
    classes = tree_classes(32, 4, "mlrc")
    tree = ensure_cub_jpeg_tree(classes, 2, image_size=40, cache_dir=tmp_path)
    assert tree.name == "CUB_200_2011"
    index = read_cub(tree)
    assert (index.num_classes, index.num_images) == (classes, 2 * classes)
    assert index.class_names[0].startswith("001.")
    for path in index.paths:
        with Image.open(path) as image:
            assert (image.format, image.size, image.mode) == ("JPEG", (40, 40), "RGB")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["data", "check", "--dataset", "cub", "--root", str(tree), "--json"])
    assert code == 0 and json.loads(stdout.getvalue())["problems"] == []


def test_cub_jpeg_tree_is_written_once_and_rewritten_when_its_manifest_is_wrong(tmp_path):
    tree = ensure_cub_jpeg_tree(4, 1, image_size=16, cache_dir=tmp_path)
    first_image = read_cub(tree).paths[0]
    written = first_image.stat().st_mtime_ns
    assert ensure_cub_jpeg_tree(4, 1, image_size=16, cache_dir=tmp_path) == tree
    assert first_image.stat().st_mtime_ns == written
    (tree.parent / "manifest.json").write_text("{}")
    ensure_cub_jpeg_tree(4, 1, image_size=16, cache_dir=tmp_path)
    assert json.loads((tree.parent / "manifest.json").read_text())["classes"] == 4
    assert read_cub(tree).num_images == 4


@pytest.mark.parametrize("scheme", ["mlrc", "even"])
@pytest.mark.parametrize(
    ("classes_per_batch", "n_folds"), [(4, 2), (4, 4), (8, 4), (32, 4), (3, 2), (5, 3)]
)
def test_tree_classes_give_every_fold_a_batch_of_training_classes(
    classes_per_batch, n_folds, scheme
):
    def smallest_fold(classes: int) -> tuple[int, int]:
        folds = build_folds(np.arange(classes // 2), n_folds, scheme)
        return min(len(f.train_classes) for f in folds), min(len(f.val_classes) for f in folds)

    classes = tree_classes(classes_per_batch, n_folds, scheme)
    train, validation = smallest_fold(classes)
    assert train >= classes_per_batch and validation >= 2
    smaller_train, smaller_validation = smallest_fold(classes - 2)
    assert classes == 8 or smaller_train < classes_per_batch or smaller_validation < 2


def _profile(loader_rates: dict[int, float], step_rate: float, per_hour: dict[int, float]):
    return TrainProfile(
        protocol="mlrc",
        dataset="cub",
        device="cuda",
        network="bninception",
        image_size=227,
        batch_size=32,
        loss="mfcwms",
        protocol_setting=FP32,
        loader_workers_of_protocol=4,
        steps=[StepMeasurement(FP32, "cuda (fp32)", 32, 10, 32 / step_rate)],
        loaders=[LoaderMeasurement(n, 32, 10, 320 / rate) for n, rate in loader_rates.items()],
        workers=[
            WorkerMeasurement(k, 4, 40, 3600 * 40 / rate, 1.0) for k, rate in per_hour.items()
        ],
    )


def test_bottleneck_is_the_loader_when_it_delivers_less_than_the_step_consumes():
    profile = _profile({0: 100.0, 4: 300.0, 8: 700.0}, step_rate=500.0, per_hour={1: 10.0, 2: 10.5})
    sentence = profile.bottleneck()
    assert sentence.startswith("bottleneck: the data loader (300 images/s with data.num_workers=4")
    assert "data.num_workers=8 keeps up" in sentence
    assert "more worker processes per GPU do not pay off (the best, 2, gives 1.05x" in sentence


def test_bottleneck_is_the_step_when_the_loader_keeps_up():
    profile = _profile({4: 900.0}, step_rate=300.0, per_hour={1: 10.0, 2: 16.0, 4: 19.0})
    sentence = profile.bottleneck()
    assert sentence.startswith("bottleneck: the training step (300 images/s in fp32)")
    assert "3.00x what the step consumes" in sentence
    assert "4 worker processes per GPU pay off (1.90x the trainings/hour of one)" in sentence
    assert ("4 workers / 1 worker", pytest.approx(1.9)) in profile.ratios()


def test_a_failed_worker_is_reported_with_its_last_output_line(tmp_path):
    log = tmp_path / "worker-0.log"
    with open(log, "w") as log_file:
        script = "import sys; print('loading'); print('error: no such loss'); sys.exit(2)"
        worker = subprocess.Popen([sys.executable, "-c", script], stdout=log_file)
    failure = wait_for_workers([worker], [log], deadline=float("inf"))
    assert failure == "mlrc worker exited with 2: error: no such loss"


def _start(tmp_path, name: str, script: str) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / f"{name}.log"
    with open(log, "w") as log_file:
        return subprocess.Popen([sys.executable, "-c", script], stdout=log_file), log


def test_a_failed_worker_stops_the_others_at_once(tmp_path):
    slow, slow_log = _start(tmp_path, "slow", "import time; time.sleep(60)")
    failed, failed_log = _start(tmp_path, "failed", "import sys; print('boom'); sys.exit(3)")
    start = time.perf_counter()
    failure = wait_for_workers([slow, failed], [slow_log, failed_log], deadline=float("inf"))
    assert failure == "mlrc worker exited with 3: boom"
    assert time.perf_counter() - start < 30 and slow.returncode is not None


def test_workers_past_the_deadline_are_stopped(tmp_path):
    slow, log = _start(tmp_path, "slow", "import time; time.sleep(60)")
    failure = wait_for_workers([slow], [log], deadline=time.perf_counter() + 0.5)
    assert failure == "timed out" and slow.returncode is not None


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--device", "cuda"], "--device cuda: torch sees no CUDA device here; use --device cpu"),
        (["--device", "gpu0"], "--device 'gpu0' is not a device"),
        (["--loader-workers", "0,two"], "--loader-workers '0,two': expected comma-separated"),
        (["--workers", "0"], "--workers must be >= 1"),
        (["--loss", "no_such_loss"], "no_such_loss"),
    ],
)
def test_bad_profile_train_options_stop_with_one_line(option, message, capsys):
    if option[:2] == ["--device", "cuda"] and torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    assert main(["profile", "train", "--device", "cpu", "--no-progress", *option]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and message in error and "\n" not in error
