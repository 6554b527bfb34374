"""The paper's ablations: grids of settings, each point a run of its own, rows side by side.

``mlrc ablate NAME`` runs one grid on a protocol (the traditional one in the paper): every point
is the protocol with a few settings changed, trained in its own run directory
``<run_dir>/points/<slug>/`` (so each point resumes like any run, and on a cluster is one job),
and its rows are gathered into ``<run_dir>/results.csv`` with the columns ``ablation`` and
``ablation_value`` (a JSON object of the settings), which ``mlrc tables`` turns into Tables 4-6,
10-11 and Figure 3.

The paper's own grid values for the batch sizes and the alpha x base study are lost in our copy
of its text; the defaults below bracket its published settings and ``--values`` sets others.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.config import ProtocolConfig, load_protocol
from benchmark.errors import ConfigError
from benchmark.study.context import StudyContext
from benchmark.study.pipeline import run_stages
from benchmark.study.results import ResultsFile
from benchmark.study.run_dir import RunDirectory, default_run_dir

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
    default_dir: Path


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
    return AblationPlan(ablation, points, selected, default_run_dir(config, ablation.name))


def run_ablation(
    plan: AblationPlan,
    losses: list[str],
    run_dir: RunDirectory,
    protocol: str,
    dataset: str,
    overrides: list[str],
    progress: bool = True,
) -> None:
    """Run (or resume) the selected points of ``protocol`` on ``dataset`` (with ``overrides``)
    and gather their rows into ``run_dir``'s results."""
    for index in plan.selected:
        slug, setting = plan.points[index]
        config = point_config(protocol, dataset, overrides, plan.ablation, setting, losses)
        point_dir = run_dir.point(slug)
        run_point(config, losses, point_dir, progress)
        gather_point(run_dir, plan.ablation, setting, point_dir)


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


def run_point(
    config: ProtocolConfig, losses: list[str], point_dir: RunDirectory, progress: bool = True
) -> StudyContext:
    """Train every loss at one grid point (searching first when the protocol searches), in
    the same stage loop as a run (without the untrained baseline)."""
    context = StudyContext.create(config, point_dir, progress=progress)
    run_stages(context, losses, untrained=False)
    return context


def gather_point(
    run_dir: RunDirectory, ablation: Ablation, setting: Setting, point_dir: RunDirectory
) -> int:
    """Append a finished point's rows to the ablation's results (once); returns rows added."""
    rows = ResultsFile(point_dir).read()
    if rows.empty:
        return 0
    rows = rows.assign(ablation=ablation.name, ablation_value=json.dumps(setting, sort_keys=True))
    records = [
        {key: (None if _missing(value) else value) for key, value in record.items()}
        for record in rows.to_dict("records")
    ]
    return ResultsFile(run_dir).append(records)


def _missing(value: Any) -> bool:
    return not isinstance(value, str) and pd.isna(value)


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
        return float(item)
    except ValueError:
        raise ConfigError(f"--values {text!r}: {item!r} is not a number") from None
