"""Measuring one step: CUDA synchronisation, peak memory (CUDA counters or torch's CPU profiler),
the number of torch CPU threads during a measurement, and the labels of a random batch."""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterator

import torch


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_memory_bytes(step: Callable[[], object], device: torch.device) -> int:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        step()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before
    if device.type != "cpu":
        raise ValueError(f"peak memory is measured on 'cpu' or 'cuda' devices, not '{device}'")
    return cpu_peak_memory_bytes(step)


def cpu_peak_memory_bytes(step: Callable[[], object]) -> int:
    activities = [torch.profiler.ProfilerActivity.CPU]
    with (
        _stderr_silenced(),
        torch.profiler.profile(activities=activities, profile_memory=True) as profiler,
    ):
        step()
    with tempfile.TemporaryDirectory() as directory:
        trace_path = os.path.join(directory, "trace.json")
        with _stderr_silenced():
            profiler.export_chrome_trace(trace_path)
        with open(trace_path) as trace_file:
            events = json.load(trace_file)["traceEvents"]
    allocations = sorted(
        (event["ts"], event["args"]["Bytes"])
        for event in events
        if event.get("name") == "[memory]" and event["args"].get("Device Type", 0) == 0
    )
    held = peak = 0
    for _, size in allocations:
        held += size
        peak = max(peak, held)
    return peak


def batch_labels(
    batch_size: int,
    classes: int,
    images_per_class: int,
    generator: torch.Generator,
    grouped: bool = False,
) -> torch.Tensor:
    """``batch_size`` labels of ``batch_size // images_per_class`` random classes out of
    ``classes`` (at least one, at most all), each of them present.

    ``grouped`` lays them out like the class-balanced sampler's batches (a a b b), otherwise
    they cycle (a b a b).
    """
    num_batch_classes = max(1, min(classes, batch_size // images_per_class))
    batch_classes = torch.randperm(classes, generator=generator)[:num_batch_classes]
    per_class = math.ceil(batch_size / num_batch_classes)
    if grouped:
        return batch_classes.repeat_interleave(per_class)[:batch_size]
    return batch_classes.repeat(per_class)[:batch_size]


@contextlib.contextmanager
def torch_threads(num_threads: int | None) -> Iterator[None]:
    if num_threads is None:
        yield
        return
    saved = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    """Hide the profiler's C++ log lines (kineto writes them straight to file descriptor 2)."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no file descriptor 2 to silence
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
