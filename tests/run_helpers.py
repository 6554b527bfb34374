"""Helpers for the orchestrator tests: running `mlrc` in-process or as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
from optuna.trial import TrialState

from benchmark.config import load_protocol
from benchmark.store.run_directory import RunDirectory
from benchmark.store.storage import open_storage
from benchmark.store.study_state import study_name


def set_args(overrides: list[str]) -> list[str]:
    """``["a=1", "b=2"]`` -> ``["--set", "a=1", "--set", "b=2"]``."""
    return [arg for item in overrides for arg in ("--set", item)]


def mlrc_process(args: list[str], **kwargs) -> subprocess.Popen:
    """Start ``mlrc ARGS`` as a separate process (so it can be SIGKILLed)."""
    # One thread each: parallel workers on 2 cores thrash badly with OpenMP oversubscription.
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "benchmark.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def load_study(run_dir: Path, loss: str) -> optuna.Study:
    config = RunDirectory(run_dir).protocol()
    storage = open_storage(None, run_dir / "optuna.journal")
    return optuna.load_study(study_name=study_name(config, loss), storage=storage)


def trials_by_state(study: optuna.Study) -> dict[TrialState, list]:
    groups: dict[TrialState, list] = {}
    for trial in study.get_trials(deepcopy=False):
        groups.setdefault(trial.state, []).append(trial)
    return groups


def tiny_config(overrides: list[str]):
    return load_protocol("demo", "synthetic", overrides)


def write_folder_dataset(root: Path, classes: int, images_per_class: int) -> Path:
    """A folder-per-class dataset of tiny distinct images (``--dataset folder --root root``):
    what a user's small dataset looks like, beyond the reach of any range check of a setting."""
    from PIL import Image

    for label in range(classes):
        for image in range(images_per_class):
            path = root / f"class_{label:03d}" / f"{image}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            value = label * images_per_class + image
            colour = (value * 37 % 256, value * 91 % 256, value * 13 % 256)
            Image.new("RGB", (8, 8), colour).save(path)
    return root


def folder_config(root: Path, overrides: list[str]):
    """The demo protocol on the folder dataset at ``root``, with ``overrides``."""
    return load_protocol("demo", "folder", [f"data.root={root}", *overrides])
