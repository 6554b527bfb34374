"""Hyperparameters that are not searched: a protocol's defaults, or a published configuration.

Either way the search space's fixed values come first (e.g. MFCWMS's ``mf_reg``), the source's
values override them, and every name is checked against the loss's registration, so a typo
fails before any training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmark.config import ProtocolConfig
from benchmark.errors import ConfigError
from benchmark.losses import get_loss_spec
from benchmark.losses.search_space import check_hyperparameter_names, load_search_space
from benchmark.search.published_params import check_published_values, load_published_params

LOSS_LR_RATIO = "loss_lr_ratio"
"""A protocol default meaning ``loss_lr = training.trunk_lr x ratio`` (Proxy-Anchor style)."""


def fixed_params(config: ProtocolConfig, loss: str) -> tuple[dict[str, Any], str] | None:
    """``(params, params_source)`` when ``loss`` trains without a search -- with a published
    configuration (``study.params_from``) or the protocol's defaults (``study.search: false``)
    -- else None: its study decides."""
    if config.study.params_from is not None:
        source = config.study.params_from
        return published_params(config, loss, source), config.study.params_source
    if not config.study.search:
        return protocol_params(config, loss), config.study.params_source
    return None


def protocol_params(config: ProtocolConfig, loss: str) -> dict[str, Any]:
    """The hyperparameters ``loss`` trains with under a protocol that searches nothing."""
    if loss not in config.losses:
        known = ", ".join(sorted(config.losses)) or "none"
        raise ConfigError(
            f"protocol '{config.name}' has no default hyperparameters for loss '{loss}' (it has "
            f"{known}); add them under losses: in {config.source or 'the protocol file'}, or "
            "search them with --search"
        )
    params = dict(config.losses[loss])
    ratio = params.pop(LOSS_LR_RATIO, None)
    if ratio is not None:
        if "loss_lr" in params:
            raise ConfigError(f"losses.{loss}: give loss_lr or {LOSS_LR_RATIO}, not both")
        params["loss_lr"] = config.training.trunk_lr * float(ratio)
    return _with_fixed_values(config, loss, params, f"losses.{loss} of protocol {config.name}")


def published_params(config: ProtocolConfig, loss: str, source: str | Path) -> dict[str, Any]:
    """The hyperparameters a published configuration gives ``loss`` on the run's dataset, at
    the protocol's batch size. A parameter the source lacks takes the search space's fixed
    value (SoftTriple's SOP regulariser); a value outside the search space is warned about."""
    params = load_published_params(source, config.dataset, loss, config.training.batch_size)
    where = f"published configuration {source}"
    merged = _with_fixed_values(config, loss, params, where)
    space = load_search_space(
        get_loss_spec(loss), config.dataset, batch_size=config.training.batch_size
    )
    return check_published_values(merged, space, f"{where} ({config.dataset})")


def _with_fixed_values(
    config: ProtocolConfig, loss: str, params: dict[str, Any], where: str
) -> dict[str, Any]:
    spec = get_loss_spec(loss)
    space = load_search_space(spec, config.dataset, batch_size=config.training.batch_size)
    merged = {**space.fixed, **params}
    check_hyperparameter_names(spec, where, set(merged))
    missing = sorted(set(space.params) - set(merged))
    if missing:
        raise ConfigError(f"{where}: no value for {missing} of loss '{loss}'")
    return merged
