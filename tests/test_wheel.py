"""A built wheel works on its own: protocols, search spaces and published configurations travel
with it, and ``mlrc`` finds them when the source tree is nowhere on the path.

The wheel is built once per module from a copy of exactly what the build reads, without build
isolation or an index (no network), and installed with ``pip install --target`` into a folder
that is put on PYTHONPATH of subprocesses started in another directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BUILD_INPUTS = (
    "pyproject.toml",
    "README.md",
    "benchmark",
    "protocols",
    "search_spaces",
    "results/reference",
    "slurm",
)
DATA_IN_WHEEL = {
    "protocols": "benchmark/protocols",
    "search_spaces": "benchmark/search_spaces",
    "results/reference": "benchmark/reference",
    "slurm/templates": "benchmark/slurm/templates",
    "slurm/profiles": "benchmark/slurm/profiles",
}


class InstalledWheel:
    """A wheel and the folder it was installed into with ``pip install --target``."""

    def __init__(self, wheel: Path, target: Path, elsewhere: Path):
        self.wheel = wheel
        self.target = target
        self.elsewhere = elsewhere

    def run(self, *command: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": str(self.target)}
        return subprocess.run(
            command, cwd=self.elsewhere, env=env, capture_output=True, text=True, timeout=180
        )

    def python(self, code: str) -> subprocess.CompletedProcess:
        return self.run(sys.executable, "-c", code)

    def mlrc(self, *args: str) -> subprocess.CompletedProcess:
        return self.run(str(self.target / "bin" / "mlrc"), *args)


def _pip(*args: str) -> None:
    command = [sys.executable, "-m", "pip", *args, "--no-deps", "--no-index", "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> InstalledWheel:
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    for name in BUILD_INPUTS:
        origin, copy = REPO / name, source / name
        if origin.is_dir():
            shutil.copytree(origin, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, copy)
    _pip("wheel", "--no-build-isolation", "--wheel-dir", str(root / "dist"), str(source))
    (wheel,) = (root / "dist").glob("mlrc_benchmark-*.whl")
    _pip("install", "--target", str(root / "site"), str(wheel))
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    return InstalledWheel(wheel, root / "site", elsewhere)


def test_wheel_ships_every_module_and_data_file(installed):
    shipped = set(zipfile.ZipFile(installed.wheel).namelist())
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "benchmark").rglob("*.py")}
    data = {
        f"{inside}/{p.name}"
        for folder, inside in DATA_IN_WHEEL.items()
        for p in (REPO / folder).iterdir()
        if p.suffix in {".yaml", ".csv", ".sbatch"}
    }
    assert {"benchmark/protocols/mlrc.yaml", "benchmark/search_spaces/mfcwms.yaml"} <= data
    missing = sorted((modules | data) - shipped)
    assert not missing, (
        f"the wheel lacks {missing}: add new packages to [tool.setuptools] packages "
        "in pyproject.toml"
    )


def test_installed_package_is_the_wheel_not_the_checkout(installed):
    done = installed.python("import benchmark; print(benchmark.__file__)")
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).is_relative_to(installed.target)


def test_installed_mlrc_lists_the_losses_from_another_directory(installed):
    done = installed.mlrc("losses")
    assert done.returncode == 0, done.stderr
    assert "mfcwms" in done.stdout and "alpha [0.01, 100]" in done.stdout
    assert "INVALID" not in done.stdout


def test_installed_mlrc_resolves_search_spaces_per_dataset(installed):
    done = installed.mlrc("losses", "--dataset", "sop", "--json")
    assert done.returncode == 0, done.stderr
    entries = {entry["name"]: entry for entry in json.loads(done.stdout)}
    assert entries["arcface"]["search_space"]["scale"]["high"] == 300.0
    assert entries["multi_similarity_miner"]["search_space"]["beta"]["high"] == 200.0
    assert Path(entries["arcface"]["file"]).is_relative_to(installed.target)


def test_installed_package_loads_protocols_and_published_parameters(installed):
    code = (
        "import json\n"
        "from benchmark.config import available_protocols, load_protocol\n"
        "from benchmark.search.published_params import load_published_params\n"
        "config = load_protocol('mlrc', 'cub')\n"
        "print(json.dumps({'protocols': available_protocols(), 'source': config.source,\n"
        "    'n_trials': config.study.n_trials,\n"
        "    'arcface_sop': load_published_params('mlrc2020', 'sop', 'arcface')}))\n"
    )
    done = installed.python(code)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert {"mlrc", "demo"} <= set(loaded["protocols"])
    assert Path(loaded["source"]).is_relative_to(installed.target)
    assert loaded["n_trials"] == 50
    assert loaded["arcface_sop"] == {"loss_lr": 2.01e-3, "margin": 18.63, "scale": 220.3}
