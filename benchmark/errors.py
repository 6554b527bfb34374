"""User-facing failures: one exception type each, printed by the CLI as one line with the fix.

Every error carries a message that names the file or setting at fault and says how to fix it.
The CLI catches :class:`BenchmarkError` once and prints ``error: <message>``; anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations


class BenchmarkError(Exception):
    """Base class of all errors a user can cause and fix."""


class ConfigError(BenchmarkError):
    """A protocol file, search-space file, override or CLI value is invalid."""


class RunDirectoryError(ConfigError):
    """A path is not a run directory, or its manifest (``run.json``) is malformed."""


class UnknownLossError(ConfigError):
    """A loss name that is not registered."""


class UnknownDatasetError(ConfigError):
    """A dataset name that no reader handles."""


class DatasetLayoutError(BenchmarkError):
    """A dataset root is missing, has the wrong layout, or holds unreadable images."""


class WeightsNotFoundError(BenchmarkError):
    """Pretrained weights were requested but no local file holds them (we never download)."""


class TrainingDiverged(BenchmarkError):
    """The loss became NaN or infinite during training."""

    def __init__(self, loss_name: str, iteration: int, value: float):
        self.loss_name = loss_name
        self.iteration = iteration
        self.value = value
        super().__init__(
            f"training diverged: loss '{loss_name}' was {value} at iteration {iteration}; "
            "lower the learning rates or narrow the loss's search space"
        )


class StudyFailed(BenchmarkError):
    """A study finished without any completed trial (every trial diverged or failed)."""


class InfeasibleStudy(BenchmarkError):
    """The data cannot fill the protocol's batches, or cannot score its folds: every trial
    would fail, so the run is refused before any training."""


class StorageError(BenchmarkError):
    """The Optuna storage URL cannot be opened."""


class FilesystemError(BenchmarkError):
    """A file of the run could not be written: the disk is full or over quota, read-only, or
    failing. An outage of the machine, never a failure of the parameters being tried."""


class PluginError(BenchmarkError):
    """A --plugin module could not be imported."""


class SlurmError(BenchmarkError):
    """A Slurm command is missing, refused a submission, or cannot reach the controller."""


class ResultsError(BenchmarkError):
    """A results, reference or profile file given to ``mlrc tables`` is missing or malformed."""
