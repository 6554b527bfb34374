"""The paper's ablation grids: each point is a protocol with a few settings changed.

An :class:`Ablation` names the settings it varies, their default values per dataset, the losses
it compares and the ``--set`` overrides that make one point; ``mlrc ablate NAME`` (and
``mlrc slurm submit --ablate NAME``) run the points, :mod:`benchmark.stages.ablations` trains them.

The paper's own grid values for the batch sizes and the alpha x base study are lost in our copy
of its text; the defaults below bracket its published settings and ``--values`` sets others.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmark.config.loading import load_protocol
from benchmark.config.sections import ProtocolConfig
from benchmark.errors import ConfigError

Setting = dict[str, Any]


@dataclass(frozen=True)
class Ablation:
    """One ablation: its grid (per dataset), the losses it compares, and what a point changes.

    Attributes:
        name: the command-line name (``mf-reg``).
        what: one line for ``--help``.
        keys: the names of the ablated settings, in ``ablation_value`` and ``--values``.
        grid: default values per key, by dataset (key ``"*"``: any other dataset).
        losses: the losses compared by default.
        overrides: ``--set`` items that make a point of ``setting`` for ``losses``.
        datasets: the datasets it applies to (empty: any).
    """

    name: str
    what: str
    keys: tuple[str, ...]
    grid: dict[str, dict[str, list[Any]]]
    losses: tuple[str, ...]
    overrides: Callable[[Setting, list[str]], list[str]]
    datasets: tuple[str, ...] = ()

    def points(self, dataset: str, values: str | None = None) -> list[Setting]:
        """Every setting of the grid (the product of the keys' values), in order."""
        per_key = _parse_values(self, values) if values else self.grid.get(dataset, self.grid["*"])
        return [
            dict(zip(self.keys, combo, strict=True))
            for combo in itertools.product(*(per_key[k] for k in self.keys))
        ]


def _batch_size(setting: Setting, losses: list[str]) -> list[str]:
    return [f"training.batch_size={setting['batch_size']}"]


def _per_loss(*keys: str) -> Callable[[Setting, list[str]], list[str]]:
    def overrides(setting: Setting, losses: list[str]) -> list[str]:
        return [f"losses.{loss}.{key}={setting[key]}" for loss in losses for key in keys]

    return overrides


_SMALL_DATA_BATCHES = {"batch_size": [30, 60, 90, 120, 150, 180]}
_LARGE_DATA_BATCHES = {"batch_size": [60, 120, 180, 240, 300, 360]}

ABLATIONS: dict[str, Ablation] = {
    ablation.name: ablation
    for ablation in (
        Ablation(
            "batch-size",
            "MFCWMS MAP@R by batch size (Tables 4-5; In-Shop with ProxyAnchor: Table 10)",
            ("batch_size",),
            {
                "cub": _SMALL_DATA_BATCHES,
                "cars196": _SMALL_DATA_BATCHES,
                "sop": _LARGE_DATA_BATCHES,
                "inshop": _LARGE_DATA_BATCHES,
                "*": {"batch_size": [20, 40, 60, 100]},
            },
            ("mfcwms",),
            _batch_size,
        ),
        Ablation(
            "inshop-batch-size-no-split",
            "In-Shop by batch size without the query/gallery split (Table 11)",
            ("batch_size",),
            {"*": _LARGE_DATA_BATCHES},
            ("proxy_anchor", "mfcwms"),
            lambda setting, losses: [
                *_batch_size(setting, losses),
                "data.inshop_query_gallery=false",
            ],
            datasets=("inshop",),
        ),
        Ablation(
            "embedding-dim",
            "MAP@R by embedding dimension (Figure 3a)",
            ("embedding_size",),
            {"*": {"embedding_size": [32, 64, 128, 256, 512, 1024]}},
            ("proxy_anchor", "mfcont", "mfcwms"),
            lambda setting, losses: [f"model.embedding_size={setting['embedding_size']}"],
        ),
        Ablation(
            "alpha-base",
            "MFCWMS MAP@R over alpha x base (Figure 3b)",
            ("alpha", "base"),
            {"*": {"alpha": [0.001, 0.01, 0.1, 1.0], "base": [0.5, 0.6, 0.7, 0.8, 0.9]}},
            ("mfcwms",),
            _per_loss("alpha", "base"),
        ),
        Ablation(
            "mf-reg",
            "MAP@R by the mean-field regulariser's strength (Table 6)",
            ("mf_reg",),
            {"*": {"mf_reg": [0.0, 0.01, 0.1, 1.0, 10.0, 100.0]}},
            ("mfcont", "mfcwms"),
            _per_loss("mf_reg"),
        ),
    )
}


@dataclass(frozen=True)
class AblationPlan:
    """An ablation's grid on one protocol and dataset, and the points this process runs."""

    ablation: Ablation
    points: list[tuple[str, Setting]]
    """Every point of the grid: (folder name, setting), in grid order."""
    selected: list[int]
    """Indices of the points to run here (all, or the one of ``--point``)."""


def select_points(
    name: str, config: ProtocolConfig, values: str | None = None, point: str | None = None
) -> AblationPlan:
    """The grid of ablation ``name`` for ``config``'s dataset, and the ``point`` to run
    (an index into the grid or a folder name; None: every point)."""
    ablation = get_ablation(name)
    points = [(point_slug(setting), setting) for setting in ablation.points(config.dataset, values)]
    selected = list(range(len(points)))
    if point is not None:
        slugs = [slug for slug, _ in points]
        if point.isdigit() and int(point) < len(points):
            selected = [int(point)]
        elif point in slugs:
            selected = [slugs.index(point)]
        else:
            raise ConfigError(
                f"--point {point}: the grid has points 0..{len(points) - 1} ({', '.join(slugs)})"
            )
    return AblationPlan(ablation, points, selected)


def get_ablation(name: str) -> Ablation:
    try:
        return ABLATIONS[name]
    except KeyError:
        raise ConfigError(
            f"unknown ablation '{name}'; choose from {', '.join(ABLATIONS)}"
        ) from None


def point_slug(setting: Setting) -> str:
    """``{"alpha": 0.01, "base": 0.8}`` -> ``alpha-0.01_base-0.8`` (a folder name)."""
    return "_".join(
        f"{key}-{value:g}" if isinstance(value, float) else f"{key}-{value}"
        for key, value in setting.items()
    )


def point_config(
    protocol: str,
    dataset: str | None,
    overrides: list[str],
    ablation: Ablation,
    setting: Setting,
    losses: list[str],
) -> ProtocolConfig:
    """The protocol of one grid point."""
    config = load_protocol(protocol, dataset, [*overrides, *ablation.overrides(setting, losses)])
    if ablation.datasets and config.dataset not in ablation.datasets:
        raise ConfigError(
            f"ablation '{ablation.name}' applies to {', '.join(ablation.datasets)}, not "
            f"'{config.dataset}'; pass --dataset {ablation.datasets[0]}"
        )
    return config


def _parse_values(ablation: Ablation, text: str) -> dict[str, list[Any]]:
    """``0,0.1,1`` (one key) or ``alpha=0.01,0.1;base=0.7,0.8`` (several)."""
    parts = [part for part in text.split(";") if part.strip()]
    if len(ablation.keys) == 1 and "=" not in text:
        parts = [f"{ablation.keys[0]}={text}"]
    values: dict[str, list[Any]] = {}
    for part in parts:
        key, _, listed = part.partition("=")
        key = key.strip()
        if key not in ablation.keys or not listed.strip():
            raise ConfigError(
                f"--values {text!r}: write "
                + ";".join(f"{k}=V1,V2" for k in ablation.keys)
                + f" (the settings of ablation '{ablation.name}')"
            )
        kind = type(next(iter(ablation.grid.values()))[key][0])  # int or float, as the defaults
        values[key] = [kind(_number(item, text)) for item in listed.split(",")]
    missing = [key for key in ablation.keys if key not in values]
    if missing:
        raise ConfigError(f"--values {text!r}: no values for {missing}")
    return values


def _number(item: str, text: str) -> float:
    try:
        number = float(item)
    except ValueError:
        raise ConfigError(f"--values {text!r}: {item!r} is not a number") from None
    if not math.isfinite(number):
        raise ConfigError(f"--values {text!r}: {item.strip()!r} is not a finite number")
    return number
