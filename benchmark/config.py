"""Typed, validated protocol configuration read from ``protocols/<name>.yaml``.

A protocol file has the sections ``data``, ``model``, ``training``, ``study`` and ``retrain``
(each a dataclass below) and an optional ``datasets`` mapping of per-dataset overrides, e.g.::

    training: {eval_every_epochs: 2, patience_epochs: 9}
    datasets:
      cars196: {training: {eval_every_epochs: 5, patience_epochs: 14}}

Values are resolved in this order: the dataclass defaults, the protocol file, the protocol's
``datasets.<dataset>`` overrides, then command-line ``--set section.key=value`` overrides.
Unknown keys and ill-typed values raise :class:`~benchmark.errors.ConfigError` naming the file
and the key.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import importlib.resources
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from benchmark.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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


@dataclass
class DataConfig:
    """Which images, how they are split and how they are transformed."""

    root: str | None = None
    """Dataset root directory; None means the synthetic cache or ``$MLRC_DATA/<dataset>``."""
    split: Literal["mlrc", "traditional"] = "mlrc"
    fold_scheme: Literal["mlrc", "even"] = "mlrc"
    n_folds: int = 4
    transform: Literal["bninception", "imagenet", "small"] = "bninception"
    resize: int = 256
    resize_before_crop: bool = True
    """Resize before RandomResizedCrop (MLRC); the traditional protocol crops the original."""
    image_size: int = 227
    crop_scale: tuple[float, float] = (0.16, 1.0)
    num_workers: int = 4
    cache_images: bool = False
    """Decode every image once into memory (for small datasets such as the synthetic one)."""
    synthetic_classes: int = 100
    synthetic_images_per_class: int = 30
    synthetic_image_size: int = 32
    synthetic_seed: int = 0


@dataclass
class ModelConfig:
    """The trunk and the embedder head."""

    trunk: Literal["bninception", "resnet50", "small_cnn"] = "bninception"
    weights: str = "imagenet"
    """'imagenet' (local file or torch hub cache, never downloaded), a file path, or 'none'."""
    head: Literal["linear", "pool_linear"] = "linear"
    embedding_size: int = 128
    embedder_activation: Literal["none", "relu"] = "none"
    freeze_batchnorm: bool = True
    small_cnn_width: int = 32


@dataclass
class TrainingConfig:
    """One training run (fit): optimisation, early stopping and hardware settings."""

    batch_size: int = 32
    optimizer: Literal["rmsprop", "adamw"] = "rmsprop"
    trunk_lr: float = 1e-6
    embedder_lr: float = 1e-6
    momentum: float = 0.9
    weight_decay: float = 1e-4
    loss_weight_decay: float = 1e-4
    iterations_per_epoch: int = 100
    eval_every_epochs: int = 2
    patience_epochs: int = 9
    """Stop when (epoch - best_epoch) > patience_epochs, as MLRC does."""
    max_epochs: int = 1000
    warmup_epochs: int = 0
    """During warm-up only the embedder and the loss parameters train."""
    lr_step_epochs: int = 0
    """StepLR period in epochs; 0 disables the schedule."""
    lr_gamma: float = 0.5
    grad_clip_value: float = 0.0
    """Clip model gradients to this absolute value; 0 disables clipping."""
    device: str = "auto"
    amp: bool = False
    """bf16 autocast on CUDA (ignored on CPU). MLRC trained and evaluated in fp32."""
    channels_last: bool = False
    """channels_last memory format on CUDA (ignored on CPU): faster convolutions."""
    tf32: bool = False
    """TF32 tensor-core math for fp32 convolutions and matmuls on Ampere or newer GPUs (faster,
    10-bit mantissa). Off: true fp32, as on MLRC's V100s."""
    eval_batch_size: int = 128


@dataclass
class SamplerConfig:
    """The Optuna sampler; every setting explicit because library defaults change between
    versions (Optuna 5 changed TPE's)."""

    kind: Literal["tpe", "gp"] = "tpe"
    """``tpe``: Optuna's TPE, random start-up trials. ``gp``: MLRC's design (Ax): the start-up
    trials on a scrambled Sobol sequence, then Optuna's GPSampler (log expected improvement; with
    running trials, q-batch EI over them, so parallel workers do not ask for the same point)."""
    seed: int = 0
    n_startup_trials: int = 10
    n_ei_candidates: int = 24
    """TPE only."""
    multivariate: bool = True
    """TPE only."""
    group: bool = False
    """TPE only."""
    constant_liar: bool = True
    """TPE only: running trials count as pessimistic results, so parallel workers spread out."""
    deterministic_objective: bool = False
    """GP only: fit a noise-free GP (our objective, a mean over trained folds, is noisy)."""


@dataclass
class StudyConfig:
    """The hyperparameter search."""

    n_trials: int = 50
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    pruner: Literal["none", "median"] = "none"
    pruner_warmup_folds: int = 1
    heartbeat_interval: int = 60
    """Seconds between a running trial's heartbeats."""
    grace_period: int = 300
    """A running trial with no heartbeat for this many seconds is considered dead."""
    max_retries: int = 3
    """How many times a trial whose worker died is re-queued with the same parameters."""
    diverged_value: float | None = 0.0
    """The objective told to the study for a trial whose training diverged (0.0 is the MAP@R of
    a useless embedding), so the sampler learns to avoid such parameters; null keeps it FAIL.
    Either way the trial keeps ``failure = diverged``, counts in the budget and is never best."""


@dataclass
class RetrainConfig:
    """Retraining the best parameters over repeated seeds, then testing."""

    repeats: int = 10
    confidence: float = 0.95
    seed_offset: int = 1000
    concatenated: bool = True


@dataclass
class ProtocolConfig:
    """A whole protocol, resolved for one dataset."""

    name: str
    dataset: str
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    study: StudyConfig = field(default_factory=StudyConfig)
    retrain: RetrainConfig = field(default_factory=RetrainConfig)
    default_dataset: str = "synthetic"
    demo_losses: list[str] = field(default_factory=list)
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_SECTIONS = {
    "data": DataConfig,
    "model": ModelConfig,
    "training": TrainingConfig,
    "study": StudyConfig,
    "retrain": RetrainConfig,
}
_TOP_LEVEL = {"name", "description", "default_dataset", "demo_losses", "datasets", *_SECTIONS}


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


def load_protocol(
    name_or_path: str,
    dataset: str | None = None,
    overrides: list[str] | None = None,
) -> ProtocolConfig:
    """Load, merge and validate a protocol for ``dataset`` (default: the protocol's own)."""
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
    merged = {key: copy.deepcopy(raw.get(key) or {}) for key in _SECTIONS}
    per_dataset = raw.get("datasets") or {}
    if not isinstance(per_dataset, dict):
        raise ConfigError(f"{path}: 'datasets' must map dataset names to overrides")
    for section, values in (per_dataset.get(dataset) or {}).items():
        if section not in _SECTIONS:
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
        default_dataset=str(raw.get("default_dataset", "synthetic")),
        demo_losses=list(raw.get("demo_losses") or []),
        source=str(path),
        **sections,
    )
    _check_values(config, path)
    return config


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


def _check_override(item: str, keys: list[str], value: Any) -> Any:
    """Blame the ``--set`` itself, not the protocol file, for an unknown key or a wrong type;
    returns the value, with ``1e-6`` read as a number where a number is expected (YAML 1.1
    reads it as text and wants ``1.0e-6``)."""
    hint: Any = _SECTIONS[keys[0]]
    for depth, key in enumerate(keys[1:], start=1):
        if not dataclasses.is_dataclass(hint):
            return value  # a key inside a free-form value: checked when the section is built
        names = sorted(f.name for f in dataclasses.fields(hint))
        if key not in names:
            section = ".".join(keys[:depth])
            raise ConfigError(f"--set {item}: unknown key '{key}' in {section}; allowed: {names}")
        hint = typing.get_type_hints(hint)[key]
    if isinstance(value, str) and float in (hint, *typing.get_args(hint)):
        with contextlib.suppress(ValueError):
            value = float(value)
    _coerce(value, hint, f"--set {item}")
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
        key: _coerce(value, hints[key], f"{where}.{key}") for key, value in values.items()
    }
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return _build_dataclass(hint, value, where)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arg, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0])
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {list(args)}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple) or len(value) != len(args):
            raise ConfigError(f"{where}: expected a list of {len(args)} values, got {value!r}")
        return tuple(_coerce(v, a, where) for v, a in zip(value, args, strict=True))
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [_coerce(v, args[0], where) for v in value]
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


def _check_values(config: ProtocolConfig, path: Path) -> None:
    checks = [
        (config.data.n_folds >= 2, "data.n_folds must be at least 2"),
        (config.training.batch_size >= 2, "training.batch_size must be at least 2"),
        (config.training.iterations_per_epoch >= 1, "training.iterations_per_epoch must be >= 1"),
        (config.training.eval_every_epochs >= 1, "training.eval_every_epochs must be >= 1"),
        (config.training.patience_epochs >= 0, "training.patience_epochs must be >= 0"),
        (config.training.max_epochs >= 1, "training.max_epochs must be >= 1"),
        (config.study.n_trials >= 1, "study.n_trials must be >= 1"),
        (config.retrain.repeats >= 1, "retrain.repeats must be >= 1"),
        (0 < config.retrain.confidence < 1, "retrain.confidence must lie in (0, 1)"),
        (config.model.embedding_size >= 1, "model.embedding_size must be >= 1"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(f"{path}: {message}")


def protocol_from_dict(data: dict[str, Any], where: str = "run manifest") -> ProtocolConfig:
    """Rebuild a resolved protocol (as written by :meth:`ProtocolConfig.to_dict`)."""
    sections = {
        key: _build_dataclass(cls, data.get(key) or {}, f"{where}: {key}")
        for key, cls in _SECTIONS.items()
    }
    return ProtocolConfig(
        name=data["name"],
        dataset=data["dataset"],
        default_dataset=data.get("default_dataset", "synthetic"),
        demo_losses=list(data.get("demo_losses") or []),
        source=data.get("source", ""),
        **sections,
    )
