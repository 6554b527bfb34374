"""Loading a protocol: the file, its per-dataset overrides and ``--set`` overrides, merged and
checked (unknown keys and ill-typed values are one ConfigError naming the file or the --set)."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import types
import typing
from collections.abc import Collection
from pathlib import Path
from typing import Any, Literal

import yaml

from benchmark.config.bounds import (
    describe_problem,
    reference_table,
    relation_problems,
    section_problems,
    value_problem,
)
from benchmark.config.files import available_protocols, protocol_path, read_yaml
from benchmark.config.sections import (
    DataConfig,
    ModelConfig,
    ProtocolConfig,
    RetrainConfig,
    StudyConfig,
    TrainingConfig,
)
from benchmark.errors import ConfigError, UnknownDatasetError

_SECTIONS = {
    "data": DataConfig,
    "model": ModelConfig,
    "training": TrainingConfig,
    "study": StudyConfig,
    "retrain": RetrainConfig,
}
_LOSSES = "losses"
_TOP_LEVEL = {
    "name",
    "description",
    "default_dataset",
    "demo_losses",
    "datasets",
    _LOSSES,
    *_SECTIONS,
}


def load_protocol(
    name_or_path: str,
    dataset: str | None = None,
    overrides: list[str] | None = None,
    known_datasets: Collection[str] | None = None,
) -> ProtocolConfig:
    """Load, merge and validate a protocol for ``dataset`` (default: the protocol's own).

    ``known_datasets`` are the names a dataset may have (the dataset registry's, passed by the
    layers above, which see it); when given, ``dataset`` and the keys of the file's ``datasets``
    mapping must be among them, so that a misspelt per-dataset entry stops with an error
    instead of being silently unused.
    """
    path = protocol_path(name_or_path)
    if not path.is_file():
        known = ", ".join(available_protocols())
        raise ConfigError(
            f"protocol '{name_or_path}' not found ({path}); available protocols: {known}"
        )
    raw = read_yaml(path)
    unknown = set(raw) - _TOP_LEVEL
    if unknown:
        raise ConfigError(
            f"{path}: unknown top-level key(s) {sorted(unknown)}; allowed: {sorted(_TOP_LEVEL)}"
        )
    dataset = dataset or raw.get("default_dataset", "synthetic")
    merged = {key: copy.deepcopy(raw.get(key) or {}) for key in (*_SECTIONS, _LOSSES)}
    per_dataset = raw.get("datasets") or {}
    if not isinstance(per_dataset, dict):
        raise ConfigError(f"{path}: 'datasets' must map dataset names to overrides")
    if known_datasets is not None:
        _check_dataset_names(path, dataset, list(per_dataset), list(known_datasets))
    for section, values in (per_dataset.get(dataset) or {}).items():
        if section not in merged:
            raise ConfigError(f"{path}: datasets.{dataset}.{section}: unknown section")
        _deep_update(merged[section], values)
    for item in overrides or []:
        _apply_override(merged, item)

    sections = {
        key: _build_dataclass(cls, merged[key], f"{path}: {key}") for key, cls in _SECTIONS.items()
    }
    config = ProtocolConfig(
        name=str(raw.get("name", path.stem)),
        dataset=dataset,
        losses=_loss_defaults(merged[_LOSSES], f"{path}: losses"),
        default_dataset=str(raw.get("default_dataset", "synthetic")),
        demo_losses=list(raw.get("demo_losses") or []),
        source=str(path),
        **sections,
    )
    check_bounds(config, str(path), overridden=bool(overrides))
    return config


def _check_dataset_names(path: Path, dataset: str, entries: list, known: list[str]) -> None:
    available = f"available datasets: {', '.join(known)}"
    for name in entries:
        if name not in known:
            raise ConfigError(f"{path}: datasets.{name}: unknown dataset '{name}'; {available}")
    if dataset not in known:
        raise UnknownDatasetError(f"unknown dataset '{dataset}' (protocol {path}); {available}")


def _loss_defaults(values: Any, where: str) -> dict[str, dict[str, Any]]:
    """``{loss: {hyperparameter: value}}`` (checked against the losses when they are built)."""
    if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
        raise ConfigError(f"{where}: expected a mapping of loss names to {{hyperparameter: value}}")
    return {str(loss): dict(params) for loss, params in values.items()}


def _deep_update(target: dict, values: dict) -> None:
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_update(target[key], value)
        else:
            target[key] = value


def _apply_override(merged: dict[str, dict], item: str) -> None:
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected section.key=value, e.g. study.n_trials=8")
    dotted, text = item.split("=", 1)
    keys = dotted.strip().split(".")
    if len(keys) < 2 or keys[0] not in merged:
        raise ConfigError(
            f"--set {item!r}: the key must start with one of {sorted(merged)}, e.g. study.n_trials=8"
        )
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = text
    value = _check_override(item, keys, value)
    target = merged[keys[0]]
    for key in keys[1:-1]:
        target = target.setdefault(key, {})
    target[keys[-1]] = value


def _number_or_text(value: Any) -> Any:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return float(value)
    return value


def _check_override(item: str, keys: list[str], value: Any) -> Any:
    """Blame the ``--set`` itself, not the protocol file, for an unknown key or a wrong type;
    returns the value, with ``1e-6`` read as a number where a number is expected (YAML 1.1
    reads it as text and wants ``1.0e-6``)."""
    if keys[0] == _LOSSES:
        if len(keys) != 3:
            raise ConfigError(f"--set {item}: write losses.<loss>.<hyperparameter>=value")
        return _number_or_text(value)
    hint: Any = _SECTIONS[keys[0]]
    for depth, key in enumerate(keys[1:], start=1):
        if not dataclasses.is_dataclass(hint):
            return value  # a key inside a free-form value: checked when the section is built
        names = sorted(f.name for f in dataclasses.fields(hint))
        if key not in names:
            section = ".".join(keys[:depth])
            raise ConfigError(f"--set {item}: unknown key '{key}' in {section}; allowed: {names}")
        field = next(f for f in dataclasses.fields(hint) if f.name == key)
        hint = typing.get_type_hints(hint)[key]
    if isinstance(value, str) and float in (hint, *typing.get_args(hint)):
        with contextlib.suppress(ValueError):
            value = float(value)
    checked = coerce_value(value, hint, f"--set {item}")
    problem = None if dataclasses.is_dataclass(hint) else value_problem(field, checked)
    if problem is not None:
        raise ConfigError(
            f"--set {item}: {describe_problem('.'.join(keys), field, checked, problem)}"
        )
    return value


def _build_dataclass(cls: type, values: Any, where: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a mapping, got {values!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(names)}")
    kwargs = {
        key: coerce_value(value, hints[key], f"{where}.{key}") for key, value in values.items()
    }
    return cls(**kwargs)


def coerce_value(value: Any, hint: Any, where: str) -> Any:
    """``value`` checked against the type ``hint`` (dataclass, Union, Literal, tuple, list, dict,
    bool, int, float, str); numbers become text for ``str``. Raises ConfigError naming ``where``."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build_dataclass(hint, value, where)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return coerce_value(value, arg, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0])
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(str, args))}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple) or len(value) != len(args):
            raise ConfigError(f"{where}: expected a list of {len(args)} values, got {value!r}")
        return tuple(coerce_value(v, a, where) for v, a in zip(value, args, strict=True))
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [coerce_value(v, args[0], where) for v in value]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, e.g. {{KEY: value}}, got {value!r}")
        return {str(k): coerce_value(v, args[1], f"{where}.{k}") for k, v in value.items()}
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return str(value)
    return value


def check_bounds(config: ProtocolConfig, where: str, overridden: bool = False) -> None:
    """Raise one ConfigError, prefixed by ``where``, for the first setting out of its bounds
    (declared on the section's fields, :mod:`benchmark.config.bounds`) or the first broken
    relation between two settings (``overridden``: --set items may have made it)."""
    for key in _SECTIONS:
        for problem in section_problems(getattr(config, key), key):
            raise ConfigError(f"{where}: {problem}")
    for problem in relation_problems(config):
        raise ConfigError(f"{where}{' with its --set overrides' if overridden else ''}: {problem}")


def protocol_from_dict(data: dict[str, Any], where: str = "run manifest") -> ProtocolConfig:
    """Rebuild a resolved protocol (as written by :meth:`ProtocolConfig.to_dict`), checked like
    a protocol file. Every section must be there: a missing one would silently read as its
    defaults (a study budget of 50 trials, say), so it is refused."""
    missing = [key for key in _SECTIONS if not isinstance(data.get(key), dict)]
    if missing:
        raise ConfigError(
            f"{where}: its protocol lacks the section(s) {', '.join(missing)} (every run records "
            "all of them); restore it from a copy, or start a new --run-dir"
        )
    sections = {
        key: _build_dataclass(cls, data[key], f"{where}: {key}") for key, cls in _SECTIONS.items()
    }
    config = ProtocolConfig(
        name=data["name"],
        dataset=data["dataset"],
        losses=_loss_defaults(data.get(_LOSSES) or {}, f"{where}: losses"),
        default_dataset=data.get("default_dataset", "synthetic"),
        demo_losses=list(data.get("demo_losses") or []),
        source=data.get("source", ""),
        **sections,
    )
    check_bounds(config, where)
    return config


def settings_reference() -> str:
    """The Markdown reference of every protocol setting's bound (docs/guide/protocols.md)."""
    return reference_table(_SECTIONS)
