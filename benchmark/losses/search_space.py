"""Search spaces: data, not code. One YAML file per loss in ``search_spaces/``::

    origin: this project
    params:
      alpha:   {low: 0.01, high: 100, log: false, doc: "weight of positive pairs"}
      loss_lr: {low: 1.0e-6, high: 1.0, log: true, doc: "learning rate of the mean fields"}
    fixed:
      mf_reg: 0.0
    datasets:
      cub: {params: {alpha: {low: 0.001}}}
      sop: {fixed: {alpha: 2.0}}
    batch_sizes:
      256: {params: {alpha: {high: 200}}}

Each parameter is a float (or an integer with ``int: true``) range whose scale is always stated
(``log: true`` or ``log: false``); ``fixed`` values are passed to the loss unchanged. A
``datasets.<name>`` entry changes single keys of ranges (or fixed values) declared above for that
dataset only: ``{low: 0.001}`` keeps the range's ``high`` and ``log``; a searched parameter named
under the entry's ``fixed`` is not searched on that dataset. A ``batch_sizes.<n>`` entry, in
the same form, applies on top of it to runs whose batch size is at least ``n`` (of several, the
largest such ``n``): MLRC searched some losses over other ranges at batch 256 than at 32.
``origin`` says where the ranges come from (:data:`ORIGINS`). Files are validated on load against
the loss's registration, every dataset and batch-size entry included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.config import read_yaml
from benchmark.data import dataset_names
from benchmark.errors import ConfigError, UnknownDatasetError
from benchmark.losses._registry import TRAINING_HYPERPARAMETERS, LossSpec

if TYPE_CHECKING:
    import optuna

_TOP_LEVEL_KEYS = {"params", "fixed", "datasets", "batch_sizes", "description", "origin"}
_ENTRY_KEYS = {"params", "fixed"}
_RANGE_KEYS = {"low", "high", "log", "step", "int", "doc"}

ORIGINS = {
    "mlrc2020": "MLRC's own search space for this loss (Musgrave et al., ECCV 2020)",
    "paper": "the ranges published with the loss",
    "this project": "chosen here by the rules of results/reference/mlrc-search-spaces.md",
}
"""What ``origin:`` may say: where the ranges of a search space come from."""


@dataclass(frozen=True)
class ParamRange:
    """One searched hyperparameter."""

    name: str
    low: float
    high: float
    log: bool
    step: float | None = None
    integer: bool = False
    doc: str = ""

    @property
    def scale(self) -> str:
        """``"log"`` or ``"linear"``."""
        return "log" if self.log else "linear"

    def bounds(self) -> str:
        """``[low, high]`` as printed in listings (``[0.01, 100]``)."""
        return f"[{self.low:g}, {self.high:g}]"

    def describe(self) -> str:
        scale = "log " if self.log else ""
        kind = "int " if self.integer else ""
        return f"{self.name} {kind}{scale}{self.bounds()}"

    def distribution(self) -> optuna.distributions.BaseDistribution:
        """The Optuna distribution :meth:`SearchSpace.suggest` draws this parameter from."""
        from optuna.distributions import FloatDistribution, IntDistribution

        if self.integer:
            return IntDistribution(
                int(self.low), int(self.high), log=self.log, step=int(self.step or 1)
            )
        return FloatDistribution(self.low, self.high, log=self.log, step=self.step)

    def to_dict(self) -> dict[str, Any]:
        """``{"low", "high", "log"}``, plus ``step`` and ``int`` when they are set."""
        data: dict[str, Any] = {"low": self.low, "high": self.high, "log": self.log}
        if self.step is not None:
            data["step"] = self.step
        if self.integer:
            data["int"] = True
        return data


@dataclass(frozen=True)
class SearchSpace:
    """The searched ranges and the fixed values of one loss, resolved for one dataset."""

    loss: str
    path: Path
    params: dict[str, ParamRange] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)
    dataset: str | None = None
    """The dataset whose ``datasets:`` entry was applied; None for the default ranges."""
    batch_size: int | None = None
    """The key of the ``batch_sizes:`` entry that was applied; None when none was."""
    batch_sizes: tuple[int, ...] = ()
    """The keys of every ``batch_sizes:`` entry of the file, ascending."""
    origin: str | None = None
    """Where the ranges come from (a key of :data:`ORIGINS`); None when the file does not say."""

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

    def distributions(self) -> dict[str, optuna.distributions.BaseDistribution]:
        """The distribution of every searched parameter, as :meth:`suggest` declares them."""
        return {name: p.distribution() for name, p in self.params.items()}

    def describe(self) -> str:
        parts = [p.describe() for p in self.params.values()]
        parts += [f"{k}={v}" for k, v in self.fixed.items()]
        return ", ".join(parts) or "(nothing searched)"

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready): ``{"params": {name: {"low", "high", "log"}}, "fixed": {...}}``."""
        return {
            "params": {name: p.to_dict() for name, p in self.params.items()},
            "fixed": dict(self.fixed),
        }


def load_search_space(
    spec: LossSpec,
    dataset: str | None = None,
    *,
    path: Path | None = None,
    batch_size: int | None = None,
) -> SearchSpace:
    """Read and validate the search space of ``spec``, resolved for ``dataset``.

    Args:
        spec: the loss's registration (its ``search_space_path`` is read unless ``path``).
        dataset: apply the file's ``datasets.<dataset>`` entry, if it has one; None gives the
            default ranges.
        path: read this file instead of the registered one.
        batch_size: the run's batch size: then the ``batch_sizes`` entry with the largest key
            not above it applies, if any; None applies none.
    """
    path = Path(path or spec.search_space_path)
    if dataset is not None and dataset not in dataset_names():
        raise UnknownDatasetError(
            f"unknown dataset '{dataset}'; available datasets: {', '.join(dataset_names())}"
        )
    if not path.is_file():
        raise ConfigError(
            f"search space of loss '{spec.name}' not found: {path}; "
            f"create it (see search_spaces/mfcwms.yaml for the format)"
        )
    raw = read_yaml(path)
    _check_keys(raw, _TOP_LEVEL_KEYS, f"{path}")
    params_raw = _mapping(raw, "params", f"{path}")
    fixed = _mapping(raw, "fixed", f"{path}")
    origin = raw.get("origin")
    if origin is not None and origin not in ORIGINS:
        raise ConfigError(
            f"{path}: origin {origin!r} is not one of {', '.join(repr(o) for o in ORIGINS)}"
        )

    params = {
        name: _parse_range(f"{path}: params.{name}", name, value)
        for name, value in params_raw.items()
    }
    check_hyperparameter_names(spec, path, set(params) | set(fixed))
    both = set(params) & set(fixed)
    if both:
        raise ConfigError(f"{path}: {sorted(both)} appear in both 'params' and 'fixed'")
    if spec.has_parameters and "loss_lr" not in params and "loss_lr" not in fixed:
        raise ConfigError(
            f"{path}: loss '{spec.name}' has trainable parameters, so its search space must "
            "set loss_lr (e.g. loss_lr: {low: 1.0e-6, high: 1.0, log: true})"
        )

    params, fixed, batch_key = _resolve_entries(
        path, raw, params, params_raw, fixed, dataset, batch_size
    )
    batch_sizes = tuple(sorted(_batch_size_entries(raw, f"{path}")))
    return SearchSpace(
        loss=spec.name,
        path=path,
        params=params,
        fixed=dict(fixed),
        dataset=dataset,
        batch_size=batch_key,
        batch_sizes=batch_sizes,
        origin=origin,
    )


def _resolve_entries(
    path: Path,
    raw: dict,
    params: dict[str, ParamRange],
    params_raw: dict,
    fixed: dict,
    dataset: str | None,
    batch_size: int | None,
) -> tuple[dict[str, ParamRange], dict[str, Any], int | None]:
    """Validate every dataset and batch-size entry (a typo in the SOP entry fails on CUB too),
    then apply the one of ``dataset`` and the one of ``batch_size``: the ranges, the fixed
    values and the key of the batch-size entry applied."""
    per_dataset = _mapping(raw, "datasets", f"{path}")
    per_batch_size = _batch_size_entries(raw, f"{path}")
    for name in per_dataset:
        if name not in dataset_names():
            raise ConfigError(
                f"{path}: datasets.{name}: unknown dataset '{name}'; "
                f"available datasets: {', '.join(dataset_names())}"
            )
    entries = {f"datasets.{name}": entry for name, entry in per_dataset.items()}
    entries |= {f"batch_sizes.{size}": entry for size, entry in per_batch_size.items()}
    for where, entry in entries.items():
        _apply_entries(path, [(where, entry)], params_raw, fixed)

    batch_key = _batch_size_key(per_batch_size, batch_size)
    applied = [(f"datasets.{dataset}", per_dataset[dataset])] if dataset in per_dataset else []
    if batch_key is not None:
        applied.append((f"batch_sizes.{batch_key}", per_batch_size[batch_key]))
    if not applied:
        return params, dict(fixed), None
    return (*_apply_entries(path, applied, params_raw, fixed), batch_key)


def _batch_size_entries(raw: dict, where: str) -> dict[int, Any]:
    """The ``batch_sizes`` entries by their batch size (a positive integer)."""
    entries = {}
    for key, entry in _mapping(raw, "batch_sizes", where).items():
        if isinstance(key, bool) or not isinstance(key, int) or key < 1:
            raise ConfigError(
                f"{where}: batch_sizes.{key}: a key must be a batch size (a positive integer), "
                "e.g. batch_sizes: {256: {params: {num_bins: {high: 250}}}}"
            )
        entries[key] = entry
    return entries


def _batch_size_key(entries: dict[int, Any], batch_size: int | None) -> int | None:
    """The largest key of ``entries`` not above ``batch_size``; None if none or no batch size."""
    if batch_size is None:
        return None
    return max((key for key in entries if key <= batch_size), default=None)


def _apply_entries(
    path: Path, entries: list[tuple[str, Any]], params_raw: dict, fixed: dict
) -> tuple[dict[str, ParamRange], dict[str, Any]]:
    """The ranges and fixed values once ``entries`` ((where, entry): the dataset's, then the
    batch size's) have changed them in turn; a parameter one entry fixes stays fixed."""
    ranges = {name: dict(value) for name, value in params_raw.items()}
    fixed = dict(fixed)
    for where, entry in entries:
        params_changes, fixed_changes = _entry_changes(f"{path}: {where}", entry, params_raw, fixed)
        for name, changes in params_changes.items():
            if name in ranges:
                ranges[name] |= changes
        for name, value in fixed_changes.items():
            ranges.pop(name, None)
            fixed[name] = value
    where = " + ".join(where for where, _ in entries)
    params = {
        name: _parse_range(f"{path}: {where}.params.{name}", name, value)
        for name, value in ranges.items()
    }
    return params, fixed


def _entry_changes(
    where: str, entry: Any, params_raw: dict, fixed: dict
) -> tuple[dict[str, dict], dict[str, Any]]:
    """The validated ``params`` and ``fixed`` changes of one dataset or batch-size entry."""
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping like {{params: {{alpha: {{low: 0.001}}}}}}")
    _check_keys(entry, _ENTRY_KEYS, where)
    params_changes = _mapping(entry, "params", where)
    fixed_changes = _mapping(entry, "fixed", where)

    for names, declared, section in (
        (params_changes, params_raw, "params"),
        (fixed_changes, {**params_raw, **fixed}, "fixed"),
    ):
        undeclared = set(names) - set(declared)
        if undeclared:
            raise ConfigError(
                f"{where}.{section}: {sorted(undeclared)} not declared in the top-level "
                f"'{section}'; an entry only changes what is declared there"
            )
    both = set(params_changes) & set(fixed_changes)
    if both:
        raise ConfigError(f"{where}: {sorted(both)} appear in both 'params' and 'fixed'")
    for name, changes in params_changes.items():
        if not isinstance(changes, dict):
            raise ConfigError(f"{where}.params.{name}: expected a mapping like {{high: 300}}")
    return params_changes, fixed_changes


def _check_keys(raw: dict, allowed: set[str], where: str) -> None:
    unknown = set(raw) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")


def _mapping(raw: dict, key: str, where: str) -> dict:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: '{key}' must be a mapping")
    return value


def _parse_range(where: str, name: str, value: Any) -> ParamRange:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping like {{low: 0.1, high: 1.0, log: false}}")
    _check_keys(value, _RANGE_KEYS, where)
    if "low" not in value or "high" not in value:
        raise ConfigError(f"{where}: both 'low' and 'high' are required")
    low, high = value["low"], value["high"]
    for key, number in (("low", low), ("high", high)):
        if isinstance(number, bool) or not isinstance(number, int | float) or math.isnan(number):
            raise ConfigError(f"{where}.{key}: expected a number, got {number!r}")
    if low > high:
        raise ConfigError(f"{where}: low ({low}) is greater than high ({high})")
    if "log" not in value:
        raise ConfigError(
            f"{where}: 'log' is required: state the scale the range is searched on "
            "(log: true or log: false)"
        )
    log = value["log"]
    if not isinstance(log, bool):
        raise ConfigError(f"{where}.log: expected true or false, got {log!r}")
    if log and low <= 0:
        raise ConfigError(f"{where}: a log range needs low > 0, got low = {low}")
    step = value.get("step")
    if step is not None and (log or step <= 0):
        raise ConfigError(f"{where}.step: must be positive and cannot be combined with log")
    integer = value.get("int", False)
    if not isinstance(integer, bool):
        raise ConfigError(f"{where}.int: expected true or false, got {integer!r}")
    if integer and not all(float(number).is_integer() for number in (low, high, step or 1)):
        raise ConfigError(f"{where}: an integer range needs integer low, high and step")
    return ParamRange(
        name=name,
        low=float(low),
        high=float(high),
        log=log,
        step=None if step is None else float(step),
        integer=integer,
        doc=str(value.get("doc", "")),
    )


def check_hyperparameter_names(spec: LossSpec, where: str | Path, names: set[str]) -> None:
    """Raise :class:`ConfigError` (prefixed by ``where``) for a name the loss does not accept."""
    accepted = spec.accepted_hyperparameters
    if accepted is None:
        return
    if not spec.has_parameters:
        lr_keys = names & TRAINING_HYPERPARAMETERS
        if lr_keys:
            raise ConfigError(
                f"{where}: {sorted(lr_keys)} set, but loss '{spec.name}' has no trainable "
                "parameters; remove it"
            )
    unknown = names - accepted
    if unknown:
        raise ConfigError(
            f"{where}: loss '{spec.name}' does not accept {sorted(unknown)}; "
            f"it accepts {sorted(accepted)}"
        )
