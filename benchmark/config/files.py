"""Where protocol files live (the checkout, or an installed wheel's package data), and reading
YAML with one clear error per problem."""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any

import yaml

from benchmark.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def shipped_data_dir(package_dir: str, checkout_dir: str) -> Path:
    """A data folder shipped with the package, wherever the package was installed from.

    An installed wheel holds it as package data, ``benchmark/<package_dir>/`` (see the
    ``[tool.setuptools.package-dir]`` mappings in pyproject.toml); a source checkout or an
    editable install reads the repository's ``<checkout_dir>/`` directly.
    """
    packaged = importlib.resources.files("benchmark").joinpath(package_dir)
    if packaged.is_dir():
        return Path(str(packaged))
    return PROJECT_ROOT / checkout_dir


PROTOCOLS_DIR = shipped_data_dir("protocols", "protocols")


def protocol_path(name_or_path: str) -> Path:
    """A protocol name (``mlrc``) resolves to ``protocols/mlrc.yaml``; a path is used as is."""
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"}:
        return path
    return PROTOCOLS_DIR / f"{name_or_path}.yaml"


def available_protocols() -> list[str]:
    """The names of the protocols shipped in ``protocols/`` (``--protocol NAME``)."""
    return sorted(p.stem for p in PROTOCOLS_DIR.glob("*.yaml"))


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping, turning every failure into one ConfigError naming the file."""
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{where}: malformed YAML: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data
