"""Runs merged into one table must have been made alike: their settings are compared.

Inside one run directory every setting that shapes results is fixed (``run.json``), the budget
aside, which its rows record. Several sources given to one ``mlrc tables`` may hold results of
the same protocol on the same dataset (a user's loss run in a directory of its own, say); their
``run.json`` settings are then compared with the first such run's, setting by setting (those an
older ``run.json`` lacks are not compared, nor the budgets, which the rows carry). Runs made
with other settings are refused in one line naming the setting and both values, unless allowed,
in which case their rows carry the difference (:data:`SETTINGS`) and their cells are marked.
A results CSV without ``run.json`` has no settings to compare.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from benchmark.errors import ConfigError
from benchmark.report.sources import ResultsSource, run_identity
from benchmark.report.summary import SETTINGS
from benchmark.store.setting_changes import BUDGET_SETTINGS, setting_changes

ALLOW_FLAG = "--allow-mixed-settings"
# The budgets are the rows' (marked where they differ); the confidence level is the report's
# (one per table: `mlrc tables --confidence`); the default dataset names no result.
_NOT_COMPARED = {f"{section}.{key}" for section, key in BUDGET_SETTINGS} | {
    "retrain.confidence",
    "default_dataset",
}


def tag_unlike_runs(sources: Sequence[ResultsSource], allow: bool) -> list[ResultsSource]:
    """``sources``, each run's rows with their :data:`~benchmark.report.summary.SETTINGS`
    (``name=value`` of each setting the run was made with unlike the first run of its protocol
    and dataset); such runs are refused unless ``allow``."""
    first: dict[tuple[str, str], ResultsSource] = {}
    tagged = []
    for source in sources:
        protocol = source.manifest.get("protocol")
        identity = run_identity(source.rows) if len(source.rows) else None
        if not isinstance(protocol, dict) or identity is None:
            tagged.append(source)
            continue
        reference = first.setdefault(identity, source)
        changes = _changes(reference.manifest["protocol"], protocol)
        if changes and not allow:
            raise ConfigError(_refusal(reference, source, identity, changes))
        tag = ", ".join(f"{name.split('.')[-1]}={_shown(new)}" for name, _, new in changes)
        tagged.append(replace(source, rows=source.rows.assign(**{SETTINGS: tag})))
    return tagged


def _changes(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    return [
        change
        for change in setting_changes(old, new, shared_only=True)
        if change[0] not in _NOT_COMPARED
    ]


def _refusal(
    reference: ResultsSource,
    source: ResultsSource,
    identity: tuple[str, str],
    changes: list[tuple[str, Any, Any]],
) -> str:
    shown = "; ".join(f"{name}: {old!r} there, {new!r} here" for name, old, new in changes)
    return (
        f"{source.run_dir} and {reference.run_dir} both hold {identity[0]} results on "
        f"{identity[1]} but were made with other settings ({shown}); a table compares only "
        f"like with like: give them to separate `mlrc tables` calls, or add {ALLOW_FLAG} to "
        "show them together, marked"
    )


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
