"""What the CLI loads: building the parser imports no heavy library, and reading a finished run
(``mlrc tables``, ``mlrc status``) imports torch only when it needs it (it does not here).

Each check runs in a fresh interpreter: the test process itself has torch loaded already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from benchmark.config import load_protocol
from benchmark.engine.checkpoint import FitDirectory
from benchmark.engine.fit_result import FitResult
from benchmark.io import atomic_write_json
from benchmark.store import trial_attrs
from benchmark.store.run_directory import RunDirectory
from benchmark.store.storage import open_storage
from benchmark.store.study_state import study_name

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "optuna", "pandas", "matplotlib")


def _loaded_after(code: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport sys\nprint(sorted(m for m in {modules!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1].replace("'", '"'))


def _mlrc_loads(args: list[str], modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` are loaded once ``mlrc ARGS`` has run (in-process, exit code 0)."""
    code = (
        "import contextlib, io\n"
        "from benchmark.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main({args!r}) == 0\n"
    )
    return _loaded_after(code, modules)


def test_building_the_parser_loads_no_heavy_library():
    code = "from benchmark.cli import build_parser\nbuild_parser()"
    assert _loaded_after(code, (*HEAVY, "scipy")) == []


def test_tables_of_a_finished_run_do_not_load_torch(tmp_path):
    out = tmp_path / "tables"
    args = ["tables", str(REPO / "results" / "example"), "--out", str(out)]
    assert "torch" not in _mlrc_loads(args, HEAVY)
    assert (out / "table1.md").is_file()


@pytest.fixture
def finished_run(tmp_path) -> RunDirectory:
    """A demo run with nothing left: mfcwms's 2 trials of 4 folds and 1 retrain repeat done."""
    config = load_protocol("demo", "synthetic", ["study.n_trials=2", "retrain.repeats=1"])
    run_dir = RunDirectory(tmp_path / "run")
    run_dir.initialise(config, [], None)
    study = optuna.create_study(
        study_name=study_name(config, "mfcwms"),
        storage=open_storage(None, run_dir.journal_path),
        direction="maximize",
    )
    for alpha in (0.1, 0.2):
        folds = {
            trial_attrs.fold_key(fold): {
                trial_attrs.FOLD_VAL_MAP_AT_R: 0.3,
                trial_attrs.FOLD_WALL_TIME_S: 10.0,
            }
            for fold in range(4)
        }
        study.add_trial(
            create_trial(
                state=TrialState.COMPLETE,
                value=0.3,
                params={"alpha": alpha},
                distributions={"alpha": FloatDistribution(0.0, 1.0)},
                user_attrs={trial_attrs.PARAMS: {"alpha": alpha, "mf_reg": 0.0}, **folds},
                intermediate_values=dict.fromkeys(range(4), 0.3),
            )
        )
    for fold in range(4):
        files = FitDirectory(run_dir.retrain_fold_dir("mfcwms", 0, fold))
        files.fit_dir.mkdir(parents=True)
        result = FitResult(best_val_map_at_r=0.3, best_iteration=1, iterations=2, wall_time_s=20.0)
        atomic_write_json(files.result, result.to_dict())
    return run_dir


def test_status_of_a_finished_run_does_not_load_torch(finished_run):
    # The trials are read through Optuna's storage; nothing needs torch.
    assert "torch" not in _mlrc_loads(["status", str(finished_run.path)], HEAVY)
