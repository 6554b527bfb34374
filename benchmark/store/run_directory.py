"""The run directory: where every stage of one benchmark keeps its state.

Layout (all paths relative to the run directory; :class:`RunDirectory` is the one place that
spells them)::

    run.json                         the manifest: resolved protocol, dataset, plugins, storage,
                                     tracker
    optuna.journal                   Optuna JournalStorage (default storage)
    locks/<name>.lock                inter-process locks (trial budget, results file)
    trials/<loss>/<params-key>/fold_<k>/   one fit per fold of a trial (metrics only)
    retrain/<loss>/repeat_<r>/fold_<k>/    one fit per fold of a repeat (best checkpoint kept)
    retrain/<loss>/repeat_<r>/params.json  the parameters those fits are trained with
    untrained/repeat_<r>/fold_<k>/         test embeddings of the untrained networks
    results.csv                      tidy result rows (one per loss, repeat, mode, metric)
    table.md                         the printed summary table
    points/<setting>/                an ablation's grid points, each a run directory of its own
    slurm/                           on a cluster: jobs.json (the job ledger) and its lock,
                                     submission-<n>/ and dry-run/ (sbatch scripts), logs/,
                                     attempts/ (each job's attempt start and requeue count)
    tables/                          what the Slurm tables job writes (`mlrc tables --out`)
    tracking/<tracker>/              a tracker's default store (`--tracker mlflow`: mlflow.db;
                                     tensorboard: event files; wandb: offline runs)

Inside a fit directory, :class:`~benchmark.engine.FitDirectory` names the files. Any process
(worker, retrain, tables) starts cold from the run directory and, optionally, a storage URL;
nothing lives only in memory. Reading a path never creates anything.
"""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import benchmark
from benchmark.config import PROJECT_ROOT, ProtocolConfig, protocol_from_dict
from benchmark.errors import ConfigError, PluginError, RunDirectoryError
from benchmark.io import atomic_write_json
from benchmark.plugins import load_plugin
from benchmark.store.storage import without_password

# Settings that may change between invocations on the same run directory without
# invalidating finished work (they change hardware or bookkeeping, not results).
_MUTABLE_SETTINGS = {
    ("training", "device"),
    ("data", "num_workers"),
    ("data", "root"),
    ("data", "cache_images"),  # the cache gives bitwise the same batches as the image files
    ("data", "cache_dir"),
    ("study", "heartbeat_interval"),
    ("study", "grace_period"),
}
BUDGET_SETTINGS = (("study", "n_trials"), ("retrain", "repeats"))
"""The budgets of a run. Fixed per run directory like every setting that shapes results (a
table compares losses searched and retrained alike), they are raised for all its losses at once
with ``--raise-budget`` (:meth:`RunDirectory.initialise`), and never lowered."""
RAISE_BUDGET_FLAG = "--raise-budget"


RUNS_DIR = Path("results") / "runs"
"""Where run directories go by default (relative to the working directory; git-ignored)."""


def default_run_dir(config: ProtocolConfig, ablation: str | None = None) -> Path:
    """``results/runs/<protocol>-<dataset>``, with ``-<source>`` when a published
    configuration is used and ``-ablate-<name>`` for an ablation grid."""
    name = f"{config.name}-{config.dataset}"
    if config.study.params_from is not None:
        name += f"-{Path(config.study.params_from).stem}"
    if ablation is not None:
        name += f"-ablate-{ablation}"
    return RUNS_DIR / name


def params_key(params: dict[str, Any]) -> str:
    """A short stable key of a hyperparameter set (a re-queued trial finds its folds by it)."""
    canonical = json.dumps(params, sort_keys=True, default=repr)
    return hashlib.sha1(canonical.encode()).hexdigest()[:12]


@functools.cache
def code_version() -> str:
    """The package version plus the git commit of the checkout, when there is one."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{benchmark.__version__}+{commit}" if commit else benchmark.__version__


@dataclass(frozen=True)
class RunDirectory:
    """Paths of one run directory."""

    path: Path

    @property
    def manifest_path(self) -> Path:
        return self.path / "run.json"

    @property
    def journal_path(self) -> Path:
        return self.path / "optuna.journal"

    @property
    def results_path(self) -> Path:
        return self.path / "results.csv"

    @property
    def table_path(self) -> Path:
        return self.path / "table.md"

    def lock_path(self, name: str) -> Path:
        """The lock file ``name`` (:func:`~benchmark.io.file_lock` creates its folder)."""
        return self.path / "locks" / f"{name}.lock"

    def trials_dir(self, loss: str) -> Path:
        """The fits of every trial of ``loss``'s study."""
        return self.path / "trials" / loss

    def trial_fold_dir(self, loss: str, key: str, fold: int) -> Path:
        return self.trials_dir(loss) / key / f"fold_{fold}"

    def retrain_dir(self, loss: str) -> Path:
        """The fits of every repeat of ``loss``."""
        return self.path / "retrain" / loss

    def retrain_repeat_dir(self, loss: str, repeat: int) -> Path:
        """The fits of one repeat of ``loss``."""
        return self.retrain_dir(loss) / f"repeat_{repeat}"

    def retrain_params_path(self, loss: str, repeat: int) -> Path:
        """The parameters the fits of one repeat of ``loss`` are trained with."""
        return self.retrain_repeat_dir(loss, repeat) / "params.json"

    def retrain_fold_dir(self, loss: str, repeat: int, fold: int) -> Path:
        return self.retrain_repeat_dir(loss, repeat) / f"fold_{fold}"

    @property
    def untrained_dir(self) -> Path:
        return self.path / "untrained"

    def untrained_fold_dir(self, repeat: int, fold: int) -> Path:
        return self.untrained_dir / f"repeat_{repeat}" / f"fold_{fold}"

    def retrain_fit_dirs(self) -> dict[str, list[Path]]:
        """The fit directories of each loss's retrained folds (repeat, then fold order)."""
        fit_dirs: dict[str, list[Path]] = {}
        for path in sorted(self.path.glob("retrain/*/repeat_*/fold_*")):
            if path.is_dir():
                fit_dirs.setdefault(path.parent.parent.name, []).append(path)
        return fit_dirs

    @property
    def points_dir(self) -> Path:
        """The run directories of an ablation's grid points."""
        return self.path / "points"

    def point(self, slug: str) -> RunDirectory:
        """The run directory of the ablation grid point ``slug``."""
        return RunDirectory(self.points_dir / slug)

    @property
    def tables_dir(self) -> Path:
        return self.path / "tables"

    def tracking_dir(self, tracker: str) -> Path:
        """Where the tracker ``tracker`` keeps its default store (``--tracker`` without
        ``--tracking-uri``)."""
        return self.path / "tracking" / tracker

    # -- Slurm --------------------------------------------------------------------------------

    @property
    def slurm_dir(self) -> Path:
        return self.path / "slurm"

    @property
    def ledger_path(self) -> Path:
        """``slurm/jobs.json``: every submission's jobs."""
        return self.slurm_dir / "jobs.json"

    @property
    def ledger_lock_path(self) -> Path:
        return self.slurm_dir / "jobs.lock"

    @property
    def submit_lock_path(self) -> Path:
        """Held by the one ``mlrc slurm submit`` at work on this run."""
        return self.slurm_dir / "submit.lock"

    @property
    def slurm_logs_dir(self) -> Path:
        return self.slurm_dir / "logs"

    @property
    def slurm_attempts_dir(self) -> Path:
        """Each Slurm job's current attempt: when it started, how often it was requeued in a
        row without finishing anything."""
        return self.slurm_dir / "attempts"

    def submission_dir(self, number: int) -> Path:
        """The sbatch scripts of submission ``number``."""
        return self.slurm_dir / f"submission-{number}"

    @property
    def dry_run_dir(self) -> Path:
        """The sbatch scripts of the latest ``--dry-run``."""
        return self.slurm_dir / "dry-run"

    # -- manifest -------------------------------------------------------------------------

    def exists(self) -> bool:
        return self.manifest_path.is_file()

    def check_settings(self, config: ProtocolConfig, raise_budget: bool = False) -> None:
        """Refuse ``config`` if the run was made with other result-changing settings (what
        :meth:`initialise` checks, without writing anything)."""
        if self.exists():
            _check_same_protocol(
                self.manifest_path, self.protocol().to_dict(), config.to_dict(), raise_budget
            )

    def initialise(
        self,
        config: ProtocolConfig,
        plugins: list[str],
        storage: str | None,
        raise_budget: bool = False,
        *,
        losses: Sequence[str] = (),
        tracker: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Write the manifest, or check that an existing one has the same settings: every
        setting that shapes results is fixed per run directory, the budgets included, which
        ``raise_budget`` lets rise (for all the run's losses: they are recorded as raised). The
        storage URL is recorded without its password; ``losses`` join the run's losses (what a
        worker started cold may join, :meth:`recorded_losses`); ``tracker`` (the tracker's
        settings, or None) replaces the recorded one: it changes no result."""
        storage = without_password(storage)
        resolved = config.to_dict()
        plugins = [str(Path(p).resolve()) if p.endswith(".py") else p for p in plugins]
        if self.exists():
            manifest = self.read_manifest()
            # Settings added since the run was created read as their defaults.
            old = self.protocol().to_dict()
            raised = _check_same_protocol(self.manifest_path, old, resolved, raise_budget)
            if raised:
                when = datetime.now(timezone.utc).isoformat(timespec="seconds")
                manifest.setdefault("budget_raised", []).append({"at": when, **raised})
            manifest["protocol"] = resolved  # hardware settings, and budgets raised
            manifest["plugins"] = sorted(set(manifest.get("plugins", [])) | set(plugins))
            if storage:
                manifest["storage"] = storage
            if losses:
                manifest["losses"] = sorted(set(manifest.get("losses", [])) | set(losses))
        else:
            manifest = {
                "protocol": resolved,
                "plugins": plugins,
                "storage": storage,
                "code_version": code_version(),
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            }
            if losses:
                manifest["losses"] = sorted(set(losses))
        manifest["tracker"] = tracker
        atomic_write_json(self.manifest_path, manifest)
        return manifest

    def read_manifest(self) -> dict[str, Any]:
        if not self.exists():
            raise RunDirectoryError(
                f"{self.path} is not a run directory (no run.json); start one with "
                "`mlrc run` or `mlrc study`"
            )
        try:
            manifest = json.loads(self.manifest_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            manifest, reason = None, str(exc)
        else:
            reason = "not a JSON object"
        if not isinstance(manifest, dict):
            raise RunDirectoryError(
                f"{self.manifest_path} is not valid JSON ({reason}); restore it from a copy, "
                "or start a new --run-dir"
            )
        return manifest

    def recorded_tracker(self) -> dict[str, Any] | None:
        """The tracker settings recorded in the manifest (None: none, or no manifest yet)."""
        tracker = self.read_manifest().get("tracker") if self.exists() else None
        return tracker if isinstance(tracker, dict) else None

    def _recorded_protocol(self) -> dict[str, Any]:
        protocol = self.read_manifest().get("protocol")
        if not isinstance(protocol, dict):
            raise RunDirectoryError(
                f"{self.manifest_path} holds no protocol (its 'protocol' entry is missing or "
                "not an object); restore it from a copy, or start a new --run-dir"
            )
        return protocol

    def protocol(self) -> ProtocolConfig:
        recorded = self._recorded_protocol()
        try:
            return protocol_from_dict(recorded, str(self.manifest_path))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise RunDirectoryError(
                f"{self.manifest_path}: its protocol is malformed ({type(exc).__name__}: "
                f"{exc}); restore it from a copy, or start a new --run-dir"
            ) from None

    def recorded_losses(self) -> list[str] | None:
        """The losses the run was started for (by ``mlrc run``, ``study`` or ``slurm
        submit``); None when its manifest records none (made by an older version)."""
        losses = self.read_manifest().get("losses")
        if losses is None:
            return None
        if not isinstance(losses, list) or not all(isinstance(loss, str) for loss in losses):
            raise RunDirectoryError(
                f"{self.manifest_path}: 'losses' must be a list of loss names, got {losses!r}; "
                "restore it from a copy"
            )
        return losses

    def attach(self, storage_url: str | None = None) -> tuple[ProtocolConfig, str | None]:
        """What a process started cold needs: load the run's plugins, and return its protocol
        and storage URL (``storage_url`` overrides the one recorded in the manifest)."""
        manifest = self.load_plugins()
        return self.protocol(), storage_url or manifest.get("storage")

    def load_plugins(self) -> dict[str, Any]:
        """Import the plugins the run recorded (its losses and datasets register, with their
        table labels), as every command that reads the run does; returns the manifest."""
        manifest = self.read_manifest()
        for plugin in manifest.get("plugins", []):
            try:
                load_plugin(plugin)
            except PluginError as exc:
                raise PluginError(f"{exc} (a plugin recorded in {self.manifest_path})") from None
        return manifest


def setting_changes(
    old: dict[str, Any], new: dict[str, Any], shared_only: bool = False
) -> list[tuple[str, Any, Any]]:
    """The settings that shape results and differ between two resolved protocols (as
    ``ProtocolConfig.to_dict`` and run.json hold them): ``(name, old value, new value)``, the
    budgets (:data:`BUDGET_SETTINGS`) included, the hardware and bookkeeping settings aside.
    ``shared_only``: a setting one side lacks (an older run.json) is not compared."""
    changes = []
    for section, values in new.items():
        if not isinstance(values, dict):
            if section in {"source", "demo_losses"} or (shared_only and section not in old):
                continue
            if old.get(section) != values:
                changes.append((section, old.get(section), values))
            continue
        for key, value in values.items():
            known = isinstance(old.get(section), dict) and key in old[section]
            if (section, key) in _MUTABLE_SETTINGS or (shared_only and not known):
                continue
            old_value = (old.get(section) or {}).get(key)
            if isinstance(old_value, list) and isinstance(value, tuple):
                old_value = tuple(old_value)  # JSON has no tuples
            if old_value != value:
                changes.append((f"{section}.{key}", old_value, value))
    return changes


def _check_same_protocol(
    path: Path, old: dict, new: dict, raise_budget: bool = False
) -> dict[str, list[int]]:
    """Refuse ``new`` unless it has ``old``'s result-changing settings (budgets may rise with
    ``raise_budget``); returns the budgets raised (``{"study.n_trials": [5, 8]}``)."""
    budgets = {f"{section}.{key}" for section, key in BUDGET_SETTINGS}
    differences, raised, lowered = [], {}, []
    for name, old_value, value in setting_changes(old, new):
        if name in budgets and raise_budget and value > old_value:
            raised[name] = [old_value, value]
            continue
        differences.append(name if "." not in name else f"{name}: {old_value!r} -> {value!r}")
        if name in budgets and value < old_value:
            lowered.append(f"--set {name}={old_value}")
    if differences:
        raise ConfigError(
            f"{path} was created with other settings ({'; '.join(differences)}); "
            + _how_to_resume(differences, lowered, raise_budget)
        )
    return raised


def _how_to_resume(differences: list[str], lowered: list[str], raise_budget: bool) -> str:
    """The fix of a refused change of settings."""
    budgets = {f"{section}.{key}:" for section, key in BUDGET_SETTINGS}
    only_budgets = all(change.split()[0] in budgets for change in differences)
    if lowered:
        return (
            f"a run's budget is never lowered (its losses were searched and retrained under "
            f"it): resume with {' '.join(lowered)}, or use a new --run-dir"
        )
    if only_budgets and not raise_budget:
        return (
            "a run's budget is the same for all its losses; to raise it for all of them, add "
            f"{RAISE_BUDGET_FLAG}, or resume with the recorded values or a new --run-dir"
        )
    return "use a new --run-dir, or the original settings to resume"
