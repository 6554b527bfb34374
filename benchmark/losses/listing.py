"""The registered losses as Markdown tables (``mlrc losses --markdown``: docs/losses.md)."""

from __future__ import annotations

from collections.abc import Iterable

from benchmark.data import dataset_names
from benchmark.losses._registry import LossSpec
from benchmark.losses.search_space import ParamRange, SearchSpace, load_search_space

UNSTATED_ORIGIN = "unstated"


def origin_label(space: SearchSpace) -> str:
    """Where the ranges of ``space`` come from: ``mlrc2020``, ``paper``, ``this project``."""
    return space.origin or UNSTATED_ORIGIN


def loss_table(specs: Iterable[LossSpec]) -> str:
    """One row per loss: its names, kind, whether it owns parameters, where its search space
    comes from, and what it is (the first line of its builder's docstring)."""
    lines = [
        "| Loss | Name | Kind | Own parameters | Search space from | What it is |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for spec in specs:
        own = "yes" if spec.has_parameters else "no"
        if spec.parameter_weight_decay is not None:
            own += f" (weight decay {spec.parameter_weight_decay:g})"
        origin = origin_label(load_search_space(spec))
        lines.append(
            f"| {spec.display} | `{spec.name}` | {spec.kind} | {own} | {origin} "
            f"| {spec.description} |"
        )
    return "\n".join(lines) + "\n"


def search_space_table(specs: Iterable[LossSpec], datasets: Iterable[str] | None = None) -> str:
    """One Markdown table of the search spaces of ``specs``: a row per loss and parameter.

    Columns: the scale, the default range, the ranges that differ on some of ``datasets``
    (default: every registered dataset) or from some batch size up (``batch >= 256: ...``), and
    the parameter's meaning. Fixed values appear as rows of scale ``fixed``; a parameter fixed
    on one dataset only shows that value among the per-dataset ranges.
    """
    lines = [
        "| Loss | Parameter | Scale | Range | Per-dataset range | Meaning |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    datasets = dataset_names() if datasets is None else list(datasets)
    for spec in specs:
        default = load_search_space(spec)
        per_dataset = {name: load_search_space(spec, name) for name in datasets}
        per_dataset |= {
            f"batch >= {size}": load_search_space(spec, batch_size=size)
            for size in default.batch_sizes
        }
        label = f"{spec.display} (`{spec.name}`)"
        for name, p in default.params.items():
            differences = "; ".join(
                f"{dataset}: {_dataset_range(space, name, p)}"
                for dataset, space in per_dataset.items()
                if name not in space.params or space.params[name].to_dict() != p.to_dict()
            )
            lines.append(
                f"| {label} | {name} | {_scale(p)} | {p.bounds()} | {differences} | {p.doc} |"
            )
            label = ""
        for name, value in default.fixed.items():
            differences = "; ".join(
                f"{dataset}: {space.fixed[name]}"
                for dataset, space in per_dataset.items()
                if space.fixed[name] != value
            )
            lines.append(f"| {label} | {name} | fixed | {value} | {differences} | |")
            label = ""
    return "\n".join(lines) + "\n"


def _scale(p: ParamRange) -> str:
    return f"{p.scale}, integer" if p.integer else p.scale


def _dataset_range(space: SearchSpace, name: str, default: ParamRange) -> str:
    if name not in space.params:
        return f"fixed {space.fixed[name]}"
    p = space.params[name]
    return p.bounds() if p.scale == default.scale else f"{p.scale} {p.bounds()}"
