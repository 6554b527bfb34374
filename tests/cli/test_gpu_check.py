"""`make gpu-check`: what runs without CUDA, and each check's machinery on the CPU."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from benchmark.cli import gpu_check
from benchmark.cli import main as mlrc
from benchmark.engine import retrieval_metrics as real_retrieval_metrics

REPO = Path(__file__).resolve().parents[2]


def test_gpu_check_without_cuda_says_so_exits_0_and_runs_nothing(monkeypatch, capsys):
    def must_not_run(*args, **kwargs):
        raise AssertionError("a check ran without a CUDA device")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(gpu_check, "run_checks", must_not_run)
    assert mlrc(["gpu-check"]) == 0
    output = capsys.readouterr().out
    assert "no CUDA device is visible" in output and "nothing was run" in output


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_gpu_check_module_runs_as_a_script_on_this_cpu_machine(tmp_path):
    finished = subprocess.run(
        [sys.executable, "-m", "benchmark.cli", "gpu-check", "--keep", str(tmp_path / "kept")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.startswith("gpu-check: no CUDA device is visible")
    assert not (tmp_path / "kept").exists()


def test_make_gpu_check_runs_the_prepared_script_after_the_install():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^\.PHONY:.*\bgpu-check\b", makefile, re.MULTILINE)
    recipe = re.search(r"^gpu-check: \$\(STAMP\)\n\t(.+)$", makefile, re.MULTILINE)
    assert recipe and recipe.group(1) == "$(BIN)/mlrc gpu-check"


def test_metrics_check_compares_each_knn_backend_with_cpu_faiss():
    ok, detail = gpu_check.check_metrics_agree(torch.device("cpu"))
    assert ok, detail
    assert "random clustered (1000x128" in detail
    assert re.search(r"auto \d\.\de[+-]\d\d, torch \d\.\de[+-]\d\d, faiss", detail)


def test_metrics_check_fails_when_a_backend_disagrees(monkeypatch):
    def off_by_a_little(query, labels, *, device=None, knn="auto"):
        metrics = real_retrieval_metrics(query, labels, device=device, knn=knn)
        if knn == "torch":
            metrics["precision_at_1"] += 1e-5
        return metrics

    metrics_module = sys.modules["benchmark.engine.retrieval_metrics"]
    monkeypatch.setattr(metrics_module, "retrieval_metrics", off_by_a_little)
    ok, detail = gpu_check.check_metrics_agree(torch.device("cpu"))
    assert not ok and "torch 1.0e-05" in detail


def test_clustered_embeddings_are_neither_trivial_nor_random():
    embeddings, labels = gpu_check.clustered_embeddings()
    map_at_r = real_retrieval_metrics(embeddings, labels)["map_at_r"]
    assert 0.2 < map_at_r < 0.95


def test_a_check_that_raises_fails_alone_and_the_summary_says_so():
    def broken() -> tuple[bool, str]:
        raise RuntimeError("CUDA error: device-side assert triggered")

    results = [
        gpu_check.run_check("end_to_end", lambda: (True, "MAP@R 0.05")),
        gpu_check.run_check("profile_train", broken),
    ]
    assert [r.ok for r in results] == [True, False]
    summary = gpu_check.format_summary(["GPU: Test GPU"], results)
    assert "  GPU: Test GPU" in summary
    assert re.search(r"\[ok\] end_to_end \(\d+ s\): MAP@R 0.05", summary)
    assert "[FAILED] profile_train" in summary and "RuntimeError: CUDA error" in summary
    assert summary.endswith("1/2 checks passed")


def test_profile_rows_are_summarised_in_one_line():
    rows = [
        {"measurement": "step", "setting": "fp32", "count": "10", "value": "250.0",
         "ratio": "1.0", "ratio_to": "fp32", "status": "ok"},
        {"measurement": "eval", "setting": "fp32", "count": "3", "value": "900.0",
         "ratio": "3.6", "ratio_to": "step (fp32)", "status": "ok"},
        {"measurement": "loader", "setting": "image_cache", "count": "4", "value": "500",
         "ratio": "2.0", "ratio_to": "step (fp32)", "per_core": "125", "batch": "uint8",
         "status": "ok"},
        {"measurement": "loader", "setting": "image_cache", "count": "4", "value": "300",
         "ratio": "1.2", "ratio_to": "step (fp32)", "per_core": "75", "batch": "float_on_host",
         "status": "ok"},
        {"measurement": "workers", "setting": "mlrc_worker", "count": "2", "value": "",
         "ratio": "", "ratio_to": "", "status": "failed: timed out"},
        {"measurement": "workers", "setting": "mlrc_worker+image_cache", "count": "1",
         "value": "40", "ratio": "1.0", "ratio_to": "1 worker", "status": "ok"},
        {"measurement": "projection", "setting": "image_cache, pruning no", "count": "1",
         "value": "812.4", "ratio": "", "ratio_to": "", "status": "ok"},
        {"measurement": "projection", "setting": "image_cache, pruning no", "count": "2",
         "value": "530.2", "ratio": "", "ratio_to": "", "status": "ok"},
    ]  # fmt: skip
    assert gpu_check.summarize_train_rows(rows) == (
        "step fp32 250 images/s (1.00x fp32); evaluation fp32 900 images/s; "
        "loader 4 workers image_cache (uint8) 500 images/s, 125/core; "
        "loader 4 workers image_cache (float_on_host) 300 images/s, 75/core; "
        "2 workers: failed: timed out; "
        "1 mlrc workers with the image cache 40 trainings/h (1.00x 1 worker); "
        "CUB column of Table 1, device-hours at 1/2/4 workers per GPU: "
        "image_cache, pruning no 812/530"
    )


@pytest.mark.slow
def test_end_to_end_check_runs_the_tiny_protocol_and_its_tables(tmp_path, monkeypatch):
    # BN-Inception at 227 px takes minutes on a CPU: the same check with the small CNN.
    small = (
        "model.trunk=small_cnn",
        "model.small_cnn_width=8",
        "data.resize=40",
        "data.image_size=32",
    )
    monkeypatch.setattr(
        gpu_check, "END_TO_END_OVERRIDES", (*gpu_check.END_TO_END_OVERRIDES, *small)
    )
    run_dir = tmp_path / "run"
    ok, detail = gpu_check.check_end_to_end(torch.device("cpu"), run_dir, tmp_path / "tables")
    assert ok, detail
    values = r"contrastive 0\.\d{4}, mfcwms 0\.\d{4}, untrained 0\.\d{4}"
    assert re.fullmatch(r"128D MAP@R \(mean of repeats\): " + values, detail)
    ok, detail = gpu_check.check_metrics_agree(torch.device("cpu"), run_dir)
    assert ok and "run test embeddings contrastive/repeat_0/fold_0 (192x128" in detail


def _make_dry_run(*args: str) -> str:
    finished = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 0, finished.stderr
    return finished.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_gpu_check_installs_offline_from_a_wheelhouse_into_a_venv_seeing_system_torch():
    commands = _make_dry_run("gpu-check", "WHEELHOUSE=/wheels")
    assert "-m venv --system-site-packages .venv" in commands
    assert "pip install --quiet --no-index --find-links '/wheels' -e '.[cpu]'" in commands
    assert "--upgrade pip" not in commands  # nothing may reach for the network
    assert commands.rstrip().endswith(".venv/bin/mlrc gpu-check")
    wheelhouse = _make_dry_run("wheelhouse", "WHEELHOUSE_DIR=/out")
    assert "pip download --quiet --dest '/out'" in wheelhouse
    assert "'.[cpu]' 'setuptools>=77' wheel" in wheelhouse
