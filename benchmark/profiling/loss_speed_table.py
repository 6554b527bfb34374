"""The loss-speed profile as people read it: the fixed-width table of ``mlrc profile losses``
with mfcwms's ratios to its references, and the CSV (its schema: :mod:`benchmark.store.loss_profile`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmark.io import atomic_write_csv
from benchmark.store.loss_profile import PROFILE_COLUMNS


def format_profile_table(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as a fixed-width table, then the ratios of mfcwms to its references.

    ``/PA`` columns are ratios to PML ProxyAnchor, ``/CxC`` ratios to the direct C x C MFCWMS,
    both measured in the same run (below 1: faster or smaller than the reference).
    """
    measured = [row for row in rows if row["status"] == "ok"]
    title = (
        f"forward + backward per step on {measured[0]['device']}, embedding size "
        f"{measured[0]['embedding_size']}; peak = most memory held at once beyond the inputs"
        if measured
        else "nothing measured"
    )
    header = (
        f"{'B':>5} {'C':>6} {'loss':<18} {'time ms':>9} {'peak MB':>9} "
        f"{'time/PA':>8} {'mem/PA':>8} {'time/CxC':>9} {'mem/CxC':>8} {'value':>12}"
    )
    lines = [title, "", header, "-" * len(header)]
    skipped: dict[tuple[int, int, str], list[str]] = {}
    for row in rows:
        if row["status"] != "ok":
            reason = row["status"].removeprefix("skipped: ")
            key = (row["batch_size"], row["num_classes"], reason)
            skipped.setdefault(key, []).append(row["loss"])
            continue
        lines.append(
            f"{row['batch_size']:>5} {row['num_classes']:>6} {row['loss']:<18} "
            f"{row['time_ms']:>9.1f} {row['peak_memory_mb']:>9.1f} "
            f"{_format_ratio(row['time_vs_proxy_anchor']):>8} "
            f"{_format_ratio(row['memory_vs_proxy_anchor']):>8} "
            f"{_format_ratio(row['time_vs_direct_cxc']):>9} "
            f"{_format_ratio(row['memory_vs_direct_cxc']):>8} "
            f"{row['value']:>12.6g}"
        )
    summary = [
        f"mfcwms at B={row['batch_size']} C={row['num_classes']}: "
        f"{_times(row['memory_vs_direct_cxc'])} the peak memory and "
        f"{_times(row['time_vs_direct_cxc'])} the time of the direct C x C formulation "
        f"(values differ by {row['value_rel_diff_vs_direct_cxc']:.1e} relative); "
        + (
            f"{_times(row['time_vs_proxy_anchor'])} the time and "
            f"{_times(row['memory_vs_proxy_anchor'])} the memory of PML ProxyAnchor"
            if row["time_vs_proxy_anchor"] is not None
            else "ProxyAnchor not measured"
        )
        for row in rows
        if row["loss"] == "mfcwms" and row["time_vs_direct_cxc"] is not None
    ]
    if summary:
        lines += ["", *summary]
    if skipped:
        lines += ["", "skipped:"]
        lines += [
            f"B={batch_size} C={classes} ({', '.join(names)}): {reason}"
            for (batch_size, classes, reason), names in skipped.items()
        ]
    return "\n".join(lines)


def _format_ratio(ratio: float | None) -> str:
    return "" if ratio is None else f"{ratio:.3g}x"


def _times(ratio: float) -> str:
    return f"{ratio:.3g}x"


def write_profile_csv(rows: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Write the rows to ``path`` as CSV (atomically: a killed run leaves no half file)."""
    path = Path(path)
    atomic_write_csv(path, rows, PROFILE_COLUMNS)
    return path
