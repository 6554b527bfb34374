"""Which settings that shape results differ between a run's recorded protocol and a new one,
and the one line that refuses a change (a run directory holds one comparison: its settings are
fixed, its budgets only raised, for all its losses at once)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmark.errors import ConfigError

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


def check_same_protocol(
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
