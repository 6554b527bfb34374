"""The run directory: where every stage of one benchmark keeps its state.

Layout (all paths relative to the run directory)::

    run.json                         the manifest: resolved protocol, dataset, plugins, storage
    optuna.journal                   Optuna JournalStorage (default storage)
    locks/                           inter-process locks (trial budget, results file)
    trials/<loss>/<params-key>/fold_<k>/   one fit per fold of a trial (metrics only)
    retrain/<loss>/repeat_<r>/fold_<k>/    one fit per fold of a repeat (best checkpoint kept)
    untrained/repeat_<r>/fold_<k>/         test embeddings of the untrained networks
    results.csv                      tidy result rows (one per loss, repeat, mode, metric)
    table.md                         the printed summary table

Any process (worker, retrain, tables) starts cold from the run directory and, optionally, a
storage URL; nothing lives only in memory.
"""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import benchmark
from benchmark.config import PROJECT_ROOT, ProtocolConfig, protocol_from_dict
from benchmark.errors import ConfigError
from benchmark.io import atomic_write_json
from benchmark.plugins import load_plugin

# Settings that may change between invocations on the same run directory without
# invalidating finished work (they change budgets or hardware, not results).
_MUTABLE_SETTINGS = {
    ("study", "n_trials"),
    ("retrain", "repeats"),
    ("training", "device"),
    ("data", "num_workers"),
    ("data", "root"),
    ("study", "heartbeat_interval"),
    ("study", "grace_period"),
}


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
        (self.path / "locks").mkdir(parents=True, exist_ok=True)
        return self.path / "locks" / f"{name}.lock"

    def trial_fold_dir(self, loss: str, key: str, fold: int) -> Path:
        return self.path / "trials" / loss / key / f"fold_{fold}"

    def retrain_fold_dir(self, loss: str, repeat: int, fold: int) -> Path:
        return self.path / "retrain" / loss / f"repeat_{repeat}" / f"fold_{fold}"

    def untrained_fold_dir(self, repeat: int, fold: int) -> Path:
        return self.path / "untrained" / f"repeat_{repeat}" / f"fold_{fold}"

    # -- manifest -------------------------------------------------------------------------

    def exists(self) -> bool:
        return self.manifest_path.is_file()

    def initialise(
        self, config: ProtocolConfig, plugins: list[str], storage: str | None
    ) -> dict[str, Any]:
        """Write the manifest, or check that an existing one has the same settings."""
        resolved = config.to_dict()
        plugins = [str(Path(p).resolve()) if p.endswith(".py") else p for p in plugins]
        if self.exists():
            manifest = self.read_manifest()
            _check_same_protocol(self.manifest_path, manifest["protocol"], resolved)
            manifest["protocol"] = resolved  # budgets may have been raised
            manifest["plugins"] = sorted(set(manifest.get("plugins", [])) | set(plugins))
            if storage:
                manifest["storage"] = storage
        else:
            manifest = {
                "protocol": resolved,
                "plugins": plugins,
                "storage": storage,
                "code_version": code_version(),
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            }
        atomic_write_json(self.manifest_path, manifest)
        return manifest

    def read_manifest(self) -> dict[str, Any]:
        if not self.exists():
            raise ConfigError(
                f"{self.path} is not a run directory (no run.json); start one with "
                "`mlrc run` or `mlrc study`"
            )
        return json.loads(self.manifest_path.read_text())

    def protocol(self) -> ProtocolConfig:
        return protocol_from_dict(self.read_manifest()["protocol"], str(self.manifest_path))

    def attach(self, storage_url: str | None = None) -> tuple[ProtocolConfig, str | None]:
        """What a process started cold needs: load the run's plugins, and return its protocol
        and storage URL (``storage_url`` overrides the one recorded in the manifest)."""
        manifest = self.read_manifest()
        for plugin in manifest.get("plugins", []):
            load_plugin(plugin)
        return self.protocol(), storage_url or manifest.get("storage")


def _check_same_protocol(path: Path, old: dict, new: dict) -> None:
    differences = []
    for section, values in new.items():
        if not isinstance(values, dict):
            if old.get(section) != values and section not in {"source", "demo_losses"}:
                differences.append(section)
            continue
        for key, value in values.items():
            old_value = (old.get(section) or {}).get(key)
            if isinstance(old_value, list):
                old_value = type(value)(old_value) if isinstance(value, tuple) else old_value
            if old_value != value and (section, key) not in _MUTABLE_SETTINGS:
                differences.append(f"{section}.{key}: {old_value!r} -> {value!r}")
    if differences:
        raise ConfigError(
            f"{path} was created with other settings ({'; '.join(differences)}); "
            "use a new --run-dir, or the original settings to resume"
        )
