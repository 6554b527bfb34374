"""The files of one fit directory (one training run), written atomically, and loading the best
weights back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.errors import ConfigError
from benchmark.io import atomic_write_csv, atomic_write_json

if TYPE_CHECKING:  # torch loads where weights are read: a fit's paths alone do not need it
    import torch


@dataclass(frozen=True)
class FitDirectory:
    """Where one training run (a fit) keeps its state, all inside ``fit_dir``.

    ``best.pt`` (model, loss and optimizer states at the best validation), ``last.pt``
    (everything needed to resume, rewritten at every validation), ``curve.json`` and
    ``curve.csv`` (the learning curve), ``result.json`` (written once the run is finished),
    ``diverged.json`` (written when the loss became NaN or infinite), and the test embeddings
    of the best model (``test_embeddings.npy``, or ``test_query.npy`` and ``test_gallery.npy``
    for a query -> gallery test set).
    """

    fit_dir: Path

    @property
    def best(self) -> Path:
        return self.fit_dir / "best.pt"

    @property
    def last(self) -> Path:
        return self.fit_dir / "last.pt"

    @property
    def curve_json(self) -> Path:
        return self.fit_dir / "curve.json"

    @property
    def curve_csv(self) -> Path:
        return self.fit_dir / "curve.csv"

    @property
    def result(self) -> Path:
        return self.fit_dir / "result.json"

    @property
    def diverged(self) -> Path:
        return self.fit_dir / "diverged.json"

    def delete_weights(self) -> None:
        """Remove ``best.pt`` and ``last.pt`` (a run whose weights are not kept)."""
        self.best.unlink(missing_ok=True)
        self.last.unlink(missing_ok=True)

    def test_embeddings(self, parts: int) -> tuple[Path, ...]:
        """The test embedding files of a test set in ``parts`` parts (1: self-retrieval,
        2: query -> gallery)."""
        names = ("test_embeddings",) if parts == 1 else ("test_query", "test_gallery")
        return tuple(self.fit_dir / f"{name}.npy" for name in names)


def write_curve(files: FitDirectory, curve: list[dict[str, Any]]) -> None:
    """The learning curve as JSON (a list of rows) and CSV (one column per key)."""
    atomic_write_json(files.curve_json, curve)
    columns: list[str] = []
    for row in curve:
        columns.extend(key for key in row if key not in columns)
    atomic_write_csv(files.curve_csv, curve, columns, lineterminator="\n")


def load_checkpoint(path: Path, identity: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """The checkpoint at ``path``, refused unless it belongs to the run ``identity`` describes
    (its seed and loss): resuming another run's weights would silently mix two runs."""
    import torch

    checkpoint = torch.load(path, map_location=device, weights_only=True)
    for key, value in identity.items():
        if checkpoint.get(key) != value:
            raise ConfigError(
                f"{path} belongs to a run with {key}={checkpoint.get(key)!r}, not {value!r}; "
                "use another run directory or delete this one"
            )
    return checkpoint


def load_best_model(
    fit_dir: str | Path,
    model: torch.nn.Module,
    loss: torch.nn.Module | None = None,
) -> dict[str, Any]:
    """Load the best weights of the run in ``fit_dir`` into ``model`` (and ``loss``).

    Returns:
        ``{"epoch", "iteration", "val_map_at_r", ...}`` of the best checkpoint.

    Raises:
        FileNotFoundError: the run kept no checkpoint (``keep_checkpoint=False``) or never
            reached its first validation.
    """
    files = FitDirectory(Path(fit_dir))
    if not files.best.is_file():
        raise FileNotFoundError(
            f"no best checkpoint at {files.best}: the run was fit with keep_checkpoint=False "
            "or has not validated yet"
        )
    import torch

    device = next(model.parameters()).device
    checkpoint = torch.load(files.best, map_location=device, weights_only=True)
    model.load_state_dict(checkpoint["model"])
    if loss is not None and checkpoint.get("loss") is not None:
        loss.load_state_dict(checkpoint["loss"])
    return {key: value for key, value in checkpoint.items() if key not in _STATE_KEYS}


_STATE_KEYS = frozenset({"model", "loss", "optimizers"})
