"""Helpers of the tracker tests: a tiny tracked run, what its fits recorded, and the trackers'
optional libraries (a test that needs one skips without it, and fails in CI)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from run_helpers import load_study, set_args
from service_checks import need_service

from benchmark.cli import main
from benchmark.store import trial_attrs
from benchmark.store.run_directory import RunDirectory, params_key

LOSS = "contrastive"
TRIALS = 2
REPEATS = 1
FOLDS = 4


def tracked_overrides(tiny_overrides: list[str]) -> list[str]:
    """The tiny protocol with 2 trials and 1 repeat: 12 fold trainings of 2 epochs."""
    return [*tiny_overrides, f"study.n_trials={TRIALS}", f"retrain.repeats={REPEATS}"]


def run_args(run_dir: Path, overrides: list[str], *extra: str) -> list[str]:
    return [
        "run",
        "--losses",
        LOSS,
        "--run-dir",
        str(run_dir),
        "--no-progress",
        *set_args(overrides),
        *extra,
    ]


def run_tiny(run_dir: Path, overrides: list[str], *extra: str) -> None:
    assert main(run_args(run_dir, overrides, *extra)) == 0


def need_extra(module: str, extra: str = "trackers") -> None:
    """Skip (fail in CI) when the tracker library ``module`` is not installed."""
    need_service(
        module,
        importlib.util.find_spec(module) is not None,
        f"pip install -e '.[{extra}]' (CI installs it)",
    )


def fold_curves(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Each fold training's learning curve as its fit recorded it (``result.json``), by the key
    its tracked run has."""
    curves = {}
    for trial in load_study(run_dir, LOSS).get_trials(deepcopy=False):
        key = params_key(trial.user_attrs[trial_attrs.PARAMS])
        for fold in range(FOLDS):
            fit_dir = RunDirectory(run_dir).trial_fold_dir(LOSS, key, fold)
            curves[f"study/{LOSS}/trial_{trial.number}/fold_{fold}"] = _curve(fit_dir)
    for repeat in range(REPEATS):
        for fold in range(FOLDS):
            fit_dir = RunDirectory(run_dir).retrain_fold_dir(LOSS, repeat, fold)
            curves[f"retrain/{LOSS}/repeat_{repeat}/fold_{fold}"] = _curve(fit_dir)
    return curves


def parent_key(key: str) -> str:
    return key.rsplit("/", 2 if key.startswith("retrain/") else 1)[0]


def _curve(fit_dir: Path) -> list[dict[str, Any]]:
    return json.loads((fit_dir / "result.json").read_text())["curve"]
