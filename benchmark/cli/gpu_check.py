"""``mlrc gpu-check`` (``make gpu-check``): the CUDA path checked end to end, with one summary.

Run it on a machine with a GPU; it needs no network and no pretrained weights, and takes a few
minutes. It drives the ``mlrc`` commands themselves, which is why it lives in the CLI layer:

1. ``end_to_end``: the tiny protocol (the test suite's tiny demo) with BN-Inception from random
   weights at 227 px on CUDA: ``mlrc run`` (study -> retrain -> table) then ``mlrc tables``;
2. ``metrics_gpu_vs_cpu``: MAP@R, P@1 and R-Precision of the same embeddings (the run's test
   embeddings and a random clustered set) computed on the GPU with each k-NN backend
   (auto, torch, faiss when faiss has GPU support) and on the CPU with faiss: they must agree
   to 1e-6;
3. ``profile_train``: ``mlrc profile train --protocol mlrc --device cuda`` (BN-Inception at
   batch 32): step rates in fp32, TF32, bf16 (and channels_last), the loader on CUB-sized JPEG
   files and through the image cache, trainings/hour of 1, 2 and 4 workers sharing the GPU with
   and without the image cache, and the device-hours of Table 1's CUB column from these rates.

It needs no network: on a bare GPU machine, install from a folder of wheels written by
``make wheelhouse`` on a machine with network (``make gpu-check WHEELHOUSE=DIR``).

Without a CUDA device it says so and exits 0 without running anything. The exit status is 1
when a check failed.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.cli._common import add_command
from benchmark.io import kept_or_temporary_dir

if TYPE_CHECKING:  # loaded when the command runs, not by `mlrc --help`
    import numpy as np
    import torch

    from benchmark.engine.retrieval_metrics import KnnBackend

# The demo protocol shrunk to seconds (the test suite's TINY_OVERRIDES are these).
TINY_OVERRIDES = (
    "data.synthetic_classes=48",
    "data.synthetic_images_per_class=8",
    "training.batch_size=16",
    "training.iterations_per_epoch=3",
    "training.eval_every_epochs=1",
    "training.patience_epochs=1",
    "training.max_epochs=2",
    "training.eval_batch_size=64",
    "study.n_trials=3",
    "study.sampler.n_startup_trials=2",
    "retrain.repeats=2",
)
# ... with MLRC's network and images, from random weights, on the GPU.
END_TO_END_OVERRIDES = (
    *TINY_OVERRIDES,
    "model.trunk=bninception",
    "model.weights=none",
    "data.transform=bninception",
    "data.resize=256",
    "data.image_size=227",
)
# A pair-based loss and a classification-based one with parameters (its mean fields).
END_TO_END_LOSSES = ("contrastive", "mfcwms")
PROFILE_STEPS = 10
METRICS_TOLERANCE = 1e-6


@dataclass(frozen=True)
class CheckResult:
    """One check: passed or not, what it measured, how long it took."""

    name: str
    ok: bool
    detail: str
    seconds: float


def run_gpu_check(keep: Path | None) -> int:
    """What ``mlrc gpu-check`` runs: every check on the CUDA device, then the summary."""
    import torch

    if not torch.cuda.is_available():
        print(
            f"gpu-check: no CUDA device is visible (torch {torch.__version__}, CUDA build "
            f"{torch.version.cuda or 'none'}); nothing was run."
        )
        return 0
    device = torch.device("cuda")
    with kept_or_temporary_dir(keep, "mlrc-gpu-check-") as work_dir:
        results = run_checks(device, work_dir)
    print()
    print(format_summary(environment(device), results))
    return 0 if all(result.ok for result in results) else 1


def run_checks(device: torch.device, work_dir: Path) -> list[CheckResult]:
    """The three checks in order (the metrics check reads the end-to-end run's embeddings)."""
    run_dir = work_dir / "run"
    return [
        run_check("end_to_end", lambda: check_end_to_end(device, run_dir, work_dir / "tables")),
        run_check("metrics_gpu_vs_cpu", lambda: check_metrics_agree(device, run_dir)),
        run_check("profile_train", lambda: check_profile_train(device, work_dir / "train.csv")),
    ]


def run_check(name: str, check: Callable[[], tuple[bool, str]]) -> CheckResult:
    """Run one check; an exception fails it (with its message) instead of stopping the others."""
    print(f"\n== gpu-check: {name}", flush=True)
    start = time.perf_counter()
    try:
        ok, detail = check()
    except Exception as exc:  # a failed check is reported, and the next one still runs
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    return CheckResult(name, ok, detail, time.perf_counter() - start)


def check_end_to_end(device: torch.device, run_dir: Path, tables_dir: Path) -> tuple[bool, str]:
    """``mlrc run`` of the tiny protocol on ``device``, then ``mlrc tables`` of its results."""
    import torch

    from benchmark.cli import main as mlrc
    from benchmark.store.results_file import UNTRAINED
    from benchmark.store.run_directory import RunDirectory

    overrides = [*END_TO_END_OVERRIDES, f"training.device={device}"]
    run_args = ["run", "--protocol", "demo", "--run-dir", str(run_dir), "--no-progress"]
    run_args += ["--losses", ",".join(END_TO_END_LOSSES)]
    run_args += [arg for item in overrides for arg in ("--set", item)]
    if device.type == "cuda":
        torch.cuda.init()  # the peak counter is reset on an initialised device only
        torch.cuda.reset_peak_memory_stats(device)
    if (code := mlrc(run_args)) != 0:
        return False, f"mlrc run exited with {code}"
    if (code := mlrc(["tables", str(run_dir), "--out", str(tables_dir)])) != 0:
        return False, f"mlrc tables exited with {code}"
    map_at_r = _separated_map_at_r(RunDirectory(run_dir).results_path)
    losses = {*END_TO_END_LOSSES, UNTRAINED}
    ok = set(map_at_r) == losses and all(math.isfinite(v) for v in map_at_r.values())
    ok = ok and any(tables_dir.glob("*.md"))
    values = ", ".join(f"{loss} {value:.4f}" for loss, value in sorted(map_at_r.items()))
    detail = f"128D MAP@R (mean of repeats): {values}"
    if device.type == "cuda":
        detail += f"; peak GPU memory {torch.cuda.max_memory_allocated(device) / 2**20:.0f} MiB"
    return ok, detail


def _separated_map_at_r(results_path: Path) -> dict[str, float]:
    """Each loss's separated MAP@R in the run's results, the mean over its repeats."""
    import numpy as np

    from benchmark.store.results_file import MAP_AT_R, MODE_SEPARATED, read_results_csv

    rows = read_results_csv(results_path)
    rows = rows[(rows["mode"] == MODE_SEPARATED) & (rows["metric"] == MAP_AT_R)]
    return {
        str(loss): float(np.mean(group["value"].to_numpy())) for loss, group in rows.groupby("loss")
    }


def check_metrics_agree(device: torch.device, run_dir: Path | None = None) -> tuple[bool, str]:
    """Metrics of the same embeddings on ``device`` (each k-NN backend) vs on the CPU (faiss)."""
    from benchmark.engine.retrieval_metrics import faiss_searches_on, retrieval_metrics

    embedding_sets = {"random clustered": clustered_embeddings()}
    if run_dir is not None:
        embedding_sets.update(run_test_embeddings(run_dir))
    backends: list[KnnBackend] = ["auto", "torch"]
    if faiss_searches_on(device):
        backends.append("faiss")
    ok, parts = True, []
    for name, (embeddings, labels) in embedding_sets.items():
        reference = retrieval_metrics(embeddings, labels, device="cpu", knn="faiss")
        differences = []
        for backend in backends:
            measured = retrieval_metrics(embeddings, labels, device=device, knn=backend)
            difference = max(abs(measured[key] - reference[key]) for key in reference)
            ok = ok and difference <= METRICS_TOLERANCE
            differences.append(f"{backend} {difference:.1e}")
        size = "x".join(str(n) for n in embeddings.shape)
        parts.append(
            f"{name} ({size}, MAP@R {reference['map_at_r']:.4f}): max |{device.type} - cpu| "
            + ", ".join(differences)
        )
    if "faiss" not in backends:
        parts.append(f"faiss on {device.type}: not installed with GPU support, skipped")
    return ok, "; ".join(parts)


def clustered_embeddings(
    num_classes: int = 50, per_class: int = 20, dim: int = 128, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of ``num_classes`` noisy clusters (overlapping, so that MAP@R < 1)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(num_classes, dim))
    labels = np.repeat(np.arange(num_classes), per_class)
    embeddings = centres[labels] + 1.5 * rng.normal(size=(len(labels), dim))
    return embeddings.astype(np.float32), labels


def run_test_embeddings(run_dir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The first cached test embeddings of a finished run, with the test labels."""
    import numpy as np

    from benchmark.engine import FitDirectory
    from benchmark.engine.evaluation import eval_parts
    from benchmark.search.context import StudyContext
    from benchmark.store.run_directory import RunDirectory

    cached = [
        path
        for fit_dirs in RunDirectory(run_dir).retrain_fit_dirs().values()
        for fit_dir in fit_dirs
        if (path := FitDirectory(fit_dir).test_embeddings(parts=1)[0]).is_file()
    ]
    if not cached:
        return {}
    test_set = StudyContext.attach(run_dir, progress=False).cross_validation.test_set
    labels = eval_parts(test_set)[0].labels  # of the one-part test embeddings above
    name = "run test embeddings " + "/".join(cached[0].relative_to(run_dir).parts[1:4])
    return {name: (np.load(cached[0]), labels)}


def check_profile_train(device: torch.device, csv_path: Path) -> tuple[bool, str]:
    """``mlrc profile train`` with the MLRC protocol's network on ``device``."""
    from benchmark.cli import main as mlrc

    args = ["profile", "train", "--protocol", "mlrc", "--device", str(device), "--no-progress"]
    args += ["--workers", "1,2,4", "--workers-cache", "both", "--loader-rounds", "1"]
    if (code := mlrc([*args, "--steps", str(PROFILE_STEPS), "--csv", str(csv_path)])) != 0:
        return False, f"mlrc profile train exited with {code}"
    with open(csv_path, newline="") as csv_file:
        rows = list(csv.DictReader(csv_file))
    failed = [row for row in rows if row["status"] != "ok"]
    return not failed, summarize_train_rows(rows)


def summarize_train_rows(rows: list[dict[str, str]]) -> str:
    """The key numbers of a ``mlrc profile train`` CSV in one line."""
    parts: list[str] = []
    projections: dict[str, list[str]] = {}
    for row in rows:
        kind, setting, count = row["measurement"], row["setting"], row["count"]
        if row["status"] != "ok":
            what = f"step {setting}" if kind == "step" else f"{count} {kind}"
            parts.append(f"{what}: {row['status']}")
            continue
        value = float(row["value"])
        ratio = f" ({float(row['ratio']):.2f}x {row['ratio_to']})" if row.get("ratio") else ""
        if kind == "step":
            parts.append(f"step {setting} {value:.0f} images/s{ratio}")
        elif kind == "eval":
            parts.append(f"evaluation {setting} {value:.0f} images/s")
        elif kind == "loader":
            per_core = f", {float(row['per_core']):.0f}/core" if row.get("per_core") else ""
            batch = f" ({row['batch']})" if row.get("batch") else ""
            parts.append(f"loader {count} workers {setting}{batch} {value:.0f} images/s{per_core}")
        elif kind == "projection":
            projections.setdefault(setting, []).append(f"{value:.0f}")
        else:
            cache = " with the image cache" if setting.endswith("image_cache") else ""
            parts.append(f"{count} mlrc workers{cache} {value:.0f} trainings/h{ratio}")
    if projections:
        groups = "; ".join(f"{setting} {'/'.join(v)}" for setting, v in projections.items())
        parts.append(f"CUB column of Table 1, device-hours at 1/2/4 workers per GPU: {groups}")
    return "; ".join(parts)


def environment(device: torch.device) -> list[str]:
    """The GPU and the versions the numbers belong to."""
    import torch

    lines = [f"python {sys.version.split()[0]}, torch {torch.__version__}"]
    if device.type == "cuda":
        properties = torch.cuda.get_device_properties(device)
        lines.insert(0, f"GPU: {properties.name}, {properties.total_memory / 2**30:.0f} GiB")
        lines[-1] += f", CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}"
    try:
        import faiss
    except ImportError:
        lines.append("faiss: not installed")
    else:
        gpus = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0
        lines.append(f"faiss {faiss.__version__}, GPUs visible to faiss: {gpus}")
    return lines


def format_summary(environment_lines: list[str], results: list[CheckResult]) -> str:
    """One summary: the machine, then each check ok/FAILED with its numbers."""
    passed = sum(result.ok for result in results)
    lines = ["gpu-check summary", *[f"  {line}" for line in environment_lines]]
    for result in results:
        status = "ok" if result.ok else "FAILED"
        lines.append(f"  [{status}] {result.name} ({result.seconds:.0f} s): {result.detail}")
    lines.append(f"  {passed}/{len(results)} checks passed")
    return "\n".join(lines)


def register(commands: argparse._SubParsersAction) -> None:
    gpu_check = add_command(
        commands,
        "gpu-check",
        "check the CUDA path end to end: a tiny run, GPU vs CPU metrics, profile train; "
        "without CUDA it says so and exits 0",
        _gpu_check,
    )
    gpu_check.add_argument(
        "--keep", type=Path, default=None, help="keep the run, tables and CSV in this folder"
    )


def _gpu_check(args: argparse.Namespace) -> int:
    return run_gpu_check(args.keep)
