"""``mlrc profile losses``: time and peak memory of the losses, with references.

For each (batch size, number of classes) it measures one training step of each loss -- forward
and backward, gradients w.r.t. the embeddings and the loss's own parameters -- and reports it
next to references measured in the same run on the same machine:

- PML ``ProxyAnchorLoss`` (the classification-based loss MFCWMS competes with in cost),
- PML ``MultiSimilarityLoss`` (the pair-based loss CWMS generalises),
- ``mfcwms_direct_cxc``: MFCWMS written directly with the full C x C matrix Q, built from the
  same mean fields (its value is checked against ours).

``losses="all"`` (``--losses all``) measures every registered loss and the references, so the
runtime table lists them all.

>>> rows = profile_losses([32], [100], embedding_size=64, repeats=1, progress=False)
>>> print(format_profile_table(rows))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import statistics
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import torch

from benchmark.losses import build_loss, get_loss_spec, list_losses
from benchmark.profiling.direct_mfcwms import DirectMeanFieldCWMS
from benchmark.profiling.measure import (
    batch_labels,
    peak_memory_bytes,
    synchronize,
    torch_threads,
)
from benchmark.progress import Progress
from benchmark.store.loss_profile import PROFILE_COLUMNS

if TYPE_CHECKING:
    from benchmark.losses.mean_field_class_wise_multi_similarity import (
        MeanFieldClassWiseMultiSimilarityLoss,
    )

_logger = logging.getLogger(__name__)

DIRECT_CXC = "mfcwms_direct_cxc"
PROXY_ANCHOR = "proxy_anchor"
ALL = "all"

DEFAULT_BATCH_SIZES = (32, 180, 1024, 4096)
DEFAULT_NUM_CLASSES = (100, 1000, 11318)
DEFAULT_LOSSES = ("mfcwms", "mfcont", "cwms", PROXY_ANCHOR, "multi_similarity", DIRECT_CXC)

# Hyperparameters of the profiled losses (the cost does not depend on them; these are the
# published traditional-protocol values, at which the direct C x C formula is finite in fp32).
PROFILE_HYPERPARAMETERS: dict[str, dict[str, float]] = {
    "mfcwms": {"alpha": 0.01, "beta": 80.0, "base": 0.8},
    # Without the regulariser, as MLRC ran it on SOP: its (C x centers)^2 masks do not fit there.
    "soft_triple": {"reg_weight": 0.0},
}

# On CPU, (batch, classes) combinations with more batch x class entries than this are skipped
# (4096 x 11318 takes several minutes for the six losses there); the direct C x C reference is skipped above
# MAX_DIRECT_CXC_ENTRIES entries of its C x C matrix (several copies of it are live at once).
MAX_CPU_BATCH_CLASS_ENTRIES = 16_000_000
MAX_DIRECT_CXC_ENTRIES = 1 << 28
# Several PML pair losses (NT-Xent, Lifted Structure, Tuplet Margin) hold (positive pairs x
# negative pairs) = O(B^3) entries: ~1 GB at B = 256, ~64 GB at B = 1024. On CPU, a pair-based
# loss is measured at PROBE_BATCH_SIZES first and skipped at a batch size where the peak memory
# extrapolated from the two (a power law) exceeds MAX_CPU_MEMORY_MB; on a GPU an out-of-memory
# step is recorded as skipped instead.
MAX_CPU_MEMORY_MB = 8192.0
PROBE_BATCH_SIZES = (64, 128)


def profile_losses(
    batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES,
    num_classes: Sequence[int] = DEFAULT_NUM_CLASSES,
    embedding_size: int = 512,
    device: str = "cpu",
    repeats: int = 3,
    losses: Sequence[str] | None = None,
    seed: int = 0,
    max_cpu_entries: int = MAX_CPU_BATCH_CLASS_ENTRIES,
    num_threads: int | None = None,
    progress: bool = True,
    max_cpu_memory_mb: float = MAX_CPU_MEMORY_MB,
) -> list[dict[str, Any]]:
    """Time and peak memory of one forward + backward step of each loss, one row per measurement.

    Args:
        batch_sizes: the mini-batch sizes B.
        num_classes: the numbers of training classes C (SOP has 11318).
        embedding_size: D.
        device: ``"cpu"`` or a CUDA device (``"cuda"``, ``"cuda:1"``).
        repeats: timed steps per measurement (after one warm-up step); the median is reported.
        losses: registered loss names and/or ``"mfcwms_direct_cxc"``, or ``"all"`` (every
            registered loss and the direct C x C MFCWMS); default: ours (mfcwms, mfcont, cwms)
            and the references (proxy_anchor, multi_similarity, the direct C x C MFCWMS).
            Ratios are filled in where the reference was measured.
        seed: seeds the embeddings, labels and loss parameters of each (B, C).
        max_cpu_entries: on CPU, skip (B, C) with ``B * C`` above this (a row says so).
        max_cpu_memory_mb: on CPU, skip a pair-based loss at a batch size where its peak memory,
            extrapolated from two small batches (``PROBE_BATCH_SIZES``), exceeds this.
        num_threads: torch's CPU threads during the measurements (restored afterwards);
            ``None`` keeps the current setting. 1 gives steadier CPU timings on a shared machine.
        progress: show a progress bar on a terminal (else log lines).

    Each batch is composed as in MLRC training: B/m classes x m images, m = 1 for
    classification-based losses and 4 for pair-based ones (classes repeat when B/m > C).

    Time: wall clock of ``loss(embeddings, labels).backward()`` (CUDA synchronised), median of
    ``repeats`` steps, gradients reset to None before each step.

    Peak memory: the most memory the step held at once on top of what existed before it (the
    inputs and the loss's parameters), gradients included. On CUDA this is
    ``torch.cuda.max_memory_allocated()`` minus ``memory_allocated()`` before the step. On CPU,
    torch has no such counter, so the step runs once more under ``torch.profiler`` with
    ``profile_memory=True``, which records every allocation and free of torch's CPU allocator
    with its size; the running sum of those sizes, in time order, is the memory the step holds,
    and its maximum the peak. Like the CUDA counter, it counts the bytes of tensors (not the
    process's resident set, which allocator caching and page reuse make unreliable here).

    Returns:
        rows with the keys of ``PROFILE_COLUMNS``; ``status`` is ``"ok"`` or says why a
        measurement was skipped (then the measured values are None).
    """
    device_obj = torch.device(device)
    losses = resolve_profiled_losses(losses)
    for name in losses:
        if name != DIRECT_CXC:
            get_loss_spec(name)  # an unknown name fails now, with the list of known ones
    combos = [(b, c) for b in batch_sizes for c in num_classes]
    rows: list[dict[str, Any]] = []
    bar = Progress(
        "profile losses",
        len(combos) * len(losses),
        logger=_logger,
        unit="measurement",
        bars=progress,
    )
    budget = _CpuBudget(max_cpu_entries, max_cpu_memory_mb, embedding_size, seed)
    with bar, torch_threads(num_threads):
        for batch_size, classes in combos:
            group = []
            for name in losses:
                bar.set_postfix(f"B={batch_size} C={classes} {name}")
                shape = (batch_size, classes, embedding_size)
                group.append(_profile_row(name, shape, device_obj, repeats, seed, budget))
                bar.update()
            _add_ratios(group)
            rows.extend(group)
    return rows


def resolve_profiled_losses(selection: str | Sequence[str] | None) -> tuple[str, ...]:
    """The losses a profile measures: the defaults (None), ``"all"`` -- every registered loss,
    in registration order, then the direct C x C reference -- or the names given."""
    if selection is None:
        return DEFAULT_LOSSES
    names = [selection] if isinstance(selection, str) else list(selection)
    if names == [ALL]:
        return (*(spec.name for spec in list_losses()), DIRECT_CXC)
    return tuple(names)


def _profile_row(
    name: str,
    shape: tuple[int, int, int],
    device: torch.device,
    repeats: int,
    seed: int,
    budget: _CpuBudget,
) -> dict[str, Any]:
    """One row: the measurement of ``name`` at (B, C, D) = ``shape``, or why it was skipped."""
    batch_size, classes, embedding_size = shape
    row = dict.fromkeys(PROFILE_COLUMNS)
    row.update(
        loss=name,
        batch_size=batch_size,
        num_classes=classes,
        embedding_size=embedding_size,
        device=str(device),
    )
    skip = _skip_reason(name, batch_size, classes)
    if skip is None and device.type == "cpu":
        skip = budget.skip_reason(name, batch_size, classes)
    if skip:
        row["status"] = f"skipped: {skip}"
        return row
    try:
        row.update(_profile_one(name, batch_size, classes, embedding_size, device, repeats, seed))
    except torch.OutOfMemoryError:
        torch.cuda.empty_cache()
        row["status"] = f"skipped: out of memory on {device}"
        return row
    row["status"] = "ok"
    return row


def _skip_reason(name: str, batch_size: int, classes: int) -> str | None:
    if name == DIRECT_CXC and classes * classes > MAX_DIRECT_CXC_ENTRIES:
        return f"C x C = {classes * classes:,} entries would not fit in memory"
    return None


class _CpuBudget:
    """What a CPU profile skips: (B, C) beyond ``max_entries``, and a pair-based loss at a batch
    size where its extrapolated peak memory exceeds ``max_memory_mb``."""

    def __init__(self, max_entries: int, max_memory_mb: float, embedding_size: int, seed: int):
        self.max_entries = max_entries
        self.max_memory_mb = max_memory_mb
        self.embedding_size = embedding_size
        self.seed = seed
        self._growth: dict[str, tuple[float, float]] = {}

    def skip_reason(self, name: str, batch_size: int, classes: int) -> str | None:
        if batch_size * classes > self.max_entries:
            return (
                f"B x C = {batch_size * classes:,} above the CPU budget of {self.max_entries:,} "
                "(run on a GPU or raise the budget)"
            )
        if name == DIRECT_CXC or get_loss_spec(name).kind != "pair":
            return None
        if batch_size <= PROBE_BATCH_SIZES[-1]:
            return None
        estimate = self.estimated_peak_mb(name, batch_size)
        if estimate > self.max_memory_mb:
            return (
                f"an estimated {estimate:,.0f} MB peak (extrapolated from B = "
                f"{PROBE_BATCH_SIZES[0]}, {PROBE_BATCH_SIZES[1]}) above the CPU budget of "
                f"{self.max_memory_mb:,.0f} MB (run on a GPU)"
            )
        return None

    def estimated_peak_mb(self, name: str, batch_size: int) -> float:
        """Peak memory at ``batch_size`` on the power law through the two probe batches."""
        if name not in self._growth:
            small, large = (
                _profile_one(
                    name, b, 2 * b, self.embedding_size, torch.device("cpu"), 1, self.seed
                )["peak_memory_mb"]
                for b in PROBE_BATCH_SIZES
            )
            ratio = PROBE_BATCH_SIZES[1] / PROBE_BATCH_SIZES[0]
            exponent = max(1.0, math.log(large / small) / math.log(ratio)) if small > 0 else 3.0
            self._growth[name] = (large, exponent)
        large, exponent = self._growth[name]
        return large * (batch_size / PROBE_BATCH_SIZES[-1]) ** exponent


def _profile_one(
    name: str,
    batch_size: int,
    classes: int,
    embedding_size: int,
    device: torch.device,
    repeats: int,
    seed: int,
) -> dict[str, Any]:
    generator = torch.Generator().manual_seed(seed)
    images_per_class = get_loss_spec("mfcwms" if name == DIRECT_CXC else name).images_per_class
    labels = batch_labels(batch_size, classes, images_per_class, generator).to(device)
    embeddings = torch.randn(batch_size, embedding_size, generator=generator).to(device)
    embeddings.requires_grad_(True)

    torch.manual_seed(seed)  # the loss's parameters: identical for mfcwms and its reference
    if name == DIRECT_CXC:
        mfcwms = cast(
            "MeanFieldClassWiseMultiSimilarityLoss", _build("mfcwms", classes, embedding_size)
        )
        module = DirectMeanFieldCWMS(mfcwms)
    else:
        module = _build(name, classes, embedding_size)
    module = module.to(device)
    parameters = [embeddings, *module.parameters()]

    def step() -> torch.Tensor:
        value = module(embeddings, labels)
        value.backward()
        return value.detach()

    def reset_gradients() -> None:
        for tensor in parameters:
            tensor.grad = None

    reset_gradients()
    value = step()  # warm-up
    times = []
    for _ in range(repeats):
        reset_gradients()
        synchronize(device)
        start = time.perf_counter()
        step()
        synchronize(device)
        times.append(time.perf_counter() - start)
    reset_gradients()
    peak_bytes = peak_memory_bytes(step, device)
    reset_gradients()
    return {
        "time_ms": 1000 * statistics.median(times),
        "peak_memory_mb": peak_bytes / 2**20,
        "value": float(value),
    }


def _build(name: str, classes: int, embedding_size: int) -> torch.nn.Module:
    hyperparameters = PROFILE_HYPERPARAMETERS.get(name, {})
    return build_loss(name, num_classes=classes, embedding_size=embedding_size, **hyperparameters)


def _add_ratios(group: list[dict[str, Any]]) -> None:
    measured = {row["loss"]: row for row in group if row["status"] == "ok"}
    proxy_anchor = measured.get(PROXY_ANCHOR)
    direct = measured.get(DIRECT_CXC)
    for row in measured.values():
        if proxy_anchor is not None and row is not proxy_anchor:
            row["time_vs_proxy_anchor"] = _ratio(row["time_ms"], proxy_anchor["time_ms"])
            row["memory_vs_proxy_anchor"] = _ratio(
                row["peak_memory_mb"], proxy_anchor["peak_memory_mb"]
            )
    ours = measured.get("mfcwms")
    if ours is not None and direct is not None:
        ours["time_vs_direct_cxc"] = _ratio(ours["time_ms"], direct["time_ms"])
        ours["memory_vs_direct_cxc"] = _ratio(ours["peak_memory_mb"], direct["peak_memory_mb"])
        ours["value_rel_diff_vs_direct_cxc"] = abs(ours["value"] - direct["value"]) / max(
            abs(direct["value"]), 1e-30
        )


def _ratio(value: float, reference: float) -> float:
    return value / reference if reference > 0 else math.inf
