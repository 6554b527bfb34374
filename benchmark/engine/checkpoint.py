"""The files of one run directory, written atomically, and loading the best weights back."""

from __future__ import annotations

import csv
import io
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch


@dataclass(frozen=True)
class RunFiles:
    """Where a run keeps its state, all inside ``run_dir``.

    ``best.pt`` (model, loss and optimizer states at the best validation), ``last.pt``
    (everything needed to resume, rewritten at every validation), ``curve.json`` and
    ``curve.csv`` (the learning curve), ``result.json`` (written once the run is finished) and
    ``diverged.json`` (written when the loss became NaN or infinite).
    """

    run_dir: Path

    @property
    def best(self) -> Path:
        return self.run_dir / "best.pt"

    @property
    def last(self) -> Path:
        return self.run_dir / "last.pt"

    @property
    def curve_json(self) -> Path:
        return self.run_dir / "curve.json"

    @property
    def curve_csv(self) -> Path:
        return self.run_dir / "curve.csv"

    @property
    def result(self) -> Path:
        return self.run_dir / "result.json"

    @property
    def diverged(self) -> Path:
        return self.run_dir / "diverged.json"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader (or a kill) never sees a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as handle:  # plain permissions (umask), unlike mkstemp's 0600
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def atomic_torch_save(obj: Any, path: Path) -> None:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def write_curve(files: RunFiles, curve: list[dict[str, Any]]) -> None:
    """The learning curve as JSON (a list of rows) and CSV (one column per key)."""
    atomic_write_json(files.curve_json, curve)
    columns: list[str] = []
    for row in curve:
        columns.extend(key for key in row if key not in columns)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(curve)
    atomic_write_text(files.curve_csv, text.getvalue())


def load_best_model(
    run_dir: str | Path,
    model: torch.nn.Module,
    loss: torch.nn.Module | None = None,
) -> dict[str, Any]:
    """Load the best weights of the run in ``run_dir`` into ``model`` (and ``loss``).

    Returns:
        ``{"epoch", "iteration", "val_map_at_r", ...}`` of the best checkpoint.

    Raises:
        FileNotFoundError: the run kept no checkpoint (``keep_checkpoint=False``) or never
            reached its first validation.
    """
    files = RunFiles(Path(run_dir))
    if not files.best.is_file():
        raise FileNotFoundError(
            f"no best checkpoint at {files.best}: the run was fit with keep_checkpoint=False "
            "or has not validated yet"
        )
    device = next(model.parameters()).device
    checkpoint = torch.load(files.best, map_location=device, weights_only=True)
    model.load_state_dict(checkpoint["model"])
    if loss is not None and checkpoint.get("loss") is not None:
        loss.load_state_dict(checkpoint["loss"])
    return {key: value for key, value in checkpoint.items() if key not in _STATE_KEYS}


_STATE_KEYS = frozenset({"model", "loss", "optimizers"})
