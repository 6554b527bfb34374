"""What a protocol's image pipeline takes from its trunk, and the check that the two fit."""

from __future__ import annotations

from benchmark.config import ProtocolConfig
from benchmark.errors import ConfigError
from benchmark.models.trunk_registry import RGB, TrunkSpec, get_trunk_spec


def check_trunk_input(config: ProtocolConfig) -> TrunkSpec:
    """The trunk of ``config``, checked against its image pipeline when the protocol loads.

    Raises ConfigError for an unknown trunk, a ``timm/`` trunk without timm (with the install
    command), or a trunk that takes one input size only (a ViT) and a ``data.image_size``
    other than that size.
    """
    spec = get_trunk_spec(config.model.trunk)
    if spec.fixed_input_size and config.data.image_size != spec.input_size:
        raise ConfigError(
            f"data.image_size: {config.data.image_size} px, but trunk '{spec.name}' takes "
            f"{spec.input_size} px images only; set data.image_size={spec.input_size}"
        )
    return spec


def trunk_mean_std(config: ProtocolConfig) -> tuple[RGB, RGB] | None:
    """The mean and std (RGB in [0, 1]) the pipeline of ``data.transform: trunk`` normalises
    with, read from the trunk's registration; None for the other pipelines (their own)."""
    if config.data.transform != "trunk":
        return None
    spec = get_trunk_spec(config.model.trunk)
    return spec.mean, spec.std
