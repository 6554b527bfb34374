"""Search spaces: data, not code. One YAML file per loss in ``search_spaces/``::

    params:
      alpha:   {low: 0.01, high: 100, log: true, doc: "weight of positive pairs"}
      loss_lr: {low: 1.0e-6, high: 1.0, log: true, doc: "learning rate of the mean fields"}
    fixed:
      mf_reg: 0.0

Each parameter is a float (or an int with ``int: true``) range; ``fixed`` values are passed to
the loss unchanged. Files are validated on load against the loss's registration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.config import read_yaml
from benchmark.errors import ConfigError
from benchmark.losses._registry import TRAINING_HYPERPARAMETERS, LossSpec

if TYPE_CHECKING:
    import optuna

_TOP_LEVEL_KEYS = {"params", "fixed", "description"}
_RANGE_KEYS = {"low", "high", "log", "step", "int", "doc"}


@dataclass(frozen=True)
class ParamRange:
    """One searched hyperparameter."""

    name: str
    low: float
    high: float
    log: bool = False
    step: float | None = None
    integer: bool = False
    doc: str = ""

    def describe(self) -> str:
        scale = "log " if self.log else ""
        kind = "int " if self.integer else ""
        return f"{self.name} {kind}{scale}[{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class SearchSpace:
    """The searched ranges and the fixed values of one loss."""

    loss: str
    path: Path
    params: dict[str, ParamRange] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Draw every searched parameter from ``trial``; fixed values are merged in."""
        values: dict[str, Any] = {}
        for name, p in self.params.items():
            if p.integer:
                values[name] = trial.suggest_int(
                    name, int(p.low), int(p.high), step=int(p.step or 1), log=p.log
                )
            else:
                values[name] = trial.suggest_float(name, p.low, p.high, step=p.step, log=p.log)
        return {**values, **self.fixed}

    def describe(self) -> str:
        parts = [p.describe() for p in self.params.values()]
        parts += [f"{k}={v}" for k, v in self.fixed.items()]
        return ", ".join(parts) or "(nothing searched)"


def load_search_space(spec: LossSpec, path: Path | None = None) -> SearchSpace:
    """Read and validate the search space of ``spec`` (its registered file unless ``path``)."""
    path = Path(path or spec.search_space_path)
    if not path.is_file():
        raise ConfigError(
            f"search space of loss '{spec.name}' not found: {path}; "
            f"create it (see search_spaces/mfcwms.yaml for the format)"
        )
    raw = read_yaml(path)
    unknown = set(raw) - _TOP_LEVEL_KEYS
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_TOP_LEVEL_KEYS)}"
        )
    params_raw = raw.get("params") or {}
    fixed = raw.get("fixed") or {}
    if not isinstance(params_raw, dict) or not isinstance(fixed, dict):
        raise ConfigError(f"{path}: 'params' and 'fixed' must be mappings")

    params = {name: _parse_range(path, name, value) for name, value in params_raw.items()}
    _check_names(spec, path, set(params) | set(fixed))
    both = set(params) & set(fixed)
    if both:
        raise ConfigError(f"{path}: {sorted(both)} appear in both 'params' and 'fixed'")
    if spec.has_parameters and "loss_lr" not in params and "loss_lr" not in fixed:
        raise ConfigError(
            f"{path}: loss '{spec.name}' has trainable parameters, so its search space must "
            "set loss_lr (e.g. loss_lr: {low: 1.0e-6, high: 1.0, log: true})"
        )
    return SearchSpace(loss=spec.name, path=path, params=params, fixed=dict(fixed))


def _parse_range(path: Path, name: str, value: Any) -> ParamRange:
    where = f"{path}: params.{name}"
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping like {{low: 0.1, high: 1.0}}")
    unknown = set(value) - _RANGE_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_RANGE_KEYS)}")
    if "low" not in value or "high" not in value:
        raise ConfigError(f"{where}: both 'low' and 'high' are required")
    low, high = value["low"], value["high"]
    for key, number in (("low", low), ("high", high)):
        if isinstance(number, bool) or not isinstance(number, int | float) or math.isnan(number):
            raise ConfigError(f"{where}.{key}: expected a number, got {number!r}")
    if low > high:
        raise ConfigError(f"{where}: low ({low}) is greater than high ({high})")
    log = value.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{where}.log: expected true or false, got {log!r}")
    if log and low <= 0:
        raise ConfigError(f"{where}: a log range needs low > 0, got low = {low}")
    step = value.get("step")
    if step is not None and (log or step <= 0):
        raise ConfigError(f"{where}.step: must be positive and cannot be combined with log")
    return ParamRange(
        name=name,
        low=float(low),
        high=float(high),
        log=log,
        step=None if step is None else float(step),
        integer=bool(value.get("int", False)),
        doc=str(value.get("doc", "")),
    )


def _check_names(spec: LossSpec, path: Path, names: set[str]) -> None:
    accepted = spec.accepted_hyperparameters
    if accepted is None:
        return
    if not spec.has_parameters:
        lr_keys = names & TRAINING_HYPERPARAMETERS
        if lr_keys:
            raise ConfigError(
                f"{path}: {sorted(lr_keys)} set, but loss '{spec.name}' has no trainable "
                "parameters; remove it"
            )
    unknown = names - accepted
    if unknown:
        raise ConfigError(
            f"{path}: loss '{spec.name}' does not accept {sorted(unknown)}; "
            f"it accepts {sorted(accepted)}"
        )
