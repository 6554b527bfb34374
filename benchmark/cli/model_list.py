"""``mlrc models``: the registered trunks with their input size, mean/std, feature dimension
and source, and whether ``timm/<name>`` is available."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from benchmark.cli._common import add_command

if TYPE_CHECKING:
    from benchmark.models import TrunkSpec


def register(commands: argparse._SubParsersAction) -> None:
    models = add_command(
        commands,
        "models",
        "list the trunks (model.trunk) with input size, mean/std, feature dimension and source",
        _models,
    )
    models.add_argument(
        "trunks",
        nargs="*",
        metavar="TRUNK",
        help="show these trunks only; timm/<name> resolves any timm model "
        "(e.g. timm/vit_small_patch16_224)",
    )
    models.add_argument(
        "--json", action="store_true", help="print one JSON list instead of a table"
    )


def _models(args: argparse.Namespace) -> int:
    from benchmark.models import get_trunk_spec, list_trunks
    from benchmark.models.timm_trunk import TIMM_INSTALL, timm_available

    specs = [get_trunk_spec(name) for name in args.trunks] if args.trunks else list_trunks()
    entries = [_describe(spec) for spec in specs]
    if args.json:
        print(json.dumps(entries, indent=2))
        return 0
    width = max(len("name"), *(len(e["name"]) for e in entries))
    print(f"{'name':<{width}}  {'input':>5}  {'features':>8}  {'source':<8}  mean / std (RGB, 0-1)")
    for e in entries:
        size = f"{e['input_size']}{'!' if e['fixed_input_size'] else ''}"
        print(
            f"{e['name']:<{width}}  {size:>5}  {e['feature_dim']:>8}  {e['source']:<8}  "
            f"{_triple(e['mean'])} / {_triple(e['std'])}"
        )
    if not args.trunks:
        state = "installed" if timm_available() else f"not installed: {TIMM_INSTALL}"
        print(f"timm/<name>: any timm model ({state}); '!': takes that input size only")
    return 0


def _describe(spec: TrunkSpec) -> dict[str, Any]:
    """One trunk as plain data."""
    return {
        "name": spec.name,
        "display": spec.display,
        "input_size": spec.input_size,
        "fixed_input_size": spec.fixed_input_size,
        "feature_dim": spec.feature_dim,
        "mean": list(spec.mean),
        "std": list(spec.std),
        "source": spec.source,
        "imagenet_weights": spec.imagenet_weights,
    }


def _triple(values: list[float]) -> str:
    return "(" + ", ".join(f"{v:.3g}" for v in values) + ")"
