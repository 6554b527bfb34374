"""The protocol's ``losses:`` section, checked before any training.

``losses.<loss>.<hyperparameter>`` (in a protocol file or a ``--set``) must name a registered
loss and a hyperparameter it accepts, with a value of the type its search space (or its builder's
default) gives it. A loss that trains with these values (a protocol that searches nothing) is
built once with them, so that the loss's own range checks speak now, not after the untrained
baseline. The config layer cannot see the loss registry; the commands call
:func:`check_loss_settings` right after loading a protocol.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from benchmark.config import ProtocolConfig
from benchmark.errors import ConfigError, UnknownLossError
from benchmark.losses import build_loss, get_loss_spec
from benchmark.losses._registry import LossSpec
from benchmark.losses.search_space import SearchSpace, check_hyperparameter_names, load_search_space
from benchmark.search.fixed_params import LOSS_LR_RATIO, protocol_params

_PROBE_CLASSES = 2
"""Classes of the loss built to let it check its hyperparameters (the split is not known yet)."""


def check_loss_settings(config: ProtocolConfig) -> None:
    """Raise one ConfigError naming ``losses.<loss>[.<hyperparameter>]`` for the first unknown
    loss, unknown hyperparameter, ill-typed value, or value the loss refuses."""
    for loss, values in config.losses.items():
        where = f"losses.{loss}"
        try:
            spec = get_loss_spec(loss)
        except UnknownLossError as exc:
            raise UnknownLossError(f"{where}: {exc}") from None
        space = load_search_space(spec, config.dataset)
        check_hyperparameter_names(spec, where, set(values) - {LOSS_LR_RATIO})
        if LOSS_LR_RATIO in values and not spec.has_parameters:
            raise ConfigError(
                f"{where}.{LOSS_LR_RATIO} set, but loss '{loss}' has no trainable parameters; "
                "remove it"
            )
        for name, value in values.items():
            problem = _type_problem(spec, space, name, value)
            if problem is not None:
                raise ConfigError(f"{where}.{name}: {problem}, got {value!r}")
        given = set(values) | set(space.fixed) | ({"loss_lr"} if LOSS_LR_RATIO in values else set())
        if not config.study.searches and set(space.params) <= given:
            _build_once(config, loss, where)


def _type_problem(spec: LossSpec, space: SearchSpace, name: str, value: Any) -> str | None:
    """What is wrong with the type of ``value`` for hyperparameter ``name``, or None."""
    if name == LOSS_LR_RATIO:
        return None if _is_number(value) and value > 0 else "expected a number > 0"
    if name in space.params:
        searched = space.params[name]
        if searched.integer and (not _is_number(value) or not float(value).is_integer()):
            return f"expected an integer (searched over {searched.bounds()})"
        if not _is_number(value):
            return f"expected a number (searched over {searched.bounds()})"
        if searched.log and value <= 0:
            return f"expected a number > 0 (searched on a log scale over {searched.bounds()})"
        return None
    example = space.fixed.get(name, _builder_default(spec, name))
    if example is None:
        return None
    if isinstance(example, bool):
        return None if isinstance(value, bool) else "expected true or false"
    if isinstance(example, int | float):
        return None if _is_number(value) else f"expected a number (like {example!r})"
    if isinstance(example, str):
        return None if isinstance(value, str) else f"expected a text (like {example!r})"
    return None


def _builder_default(spec: LossSpec, name: str) -> Any:
    parameter = inspect.signature(spec.builder).parameters.get(name)
    if parameter is None or parameter.default is inspect.Parameter.empty:
        return None
    return parameter.default


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _build_once(config: ProtocolConfig, loss: str, where: str) -> None:
    """Build ``loss`` with the parameters it would train with; its refusal is one line."""
    params = protocol_params(config, loss)
    try:
        with _random_state_kept():  # the probe must not move any seeded stream
            build_loss(loss, _PROBE_CLASSES, config.model.embedding_size, **params)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except Exception as exc:  # a library loss's own check (ValueError, AssertionError, ...)
        raise ConfigError(
            f"{where}: loss '{loss}' refuses the hyperparameters {params} "
            f"({type(exc).__name__}: {exc}); fix the value in the protocol or the --set"
        ) from None


@contextlib.contextmanager
def _random_state_kept() -> Iterator[None]:
    """Restore Python's, NumPy's and torch's CPU random states on exit."""
    python, numpy = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            random.setstate(python)
            np.random.set_state(numpy)
