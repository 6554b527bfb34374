"""The trunk registry: one registration per backbone, and :func:`get_trunk_spec`.

A registration ties a name (``model.trunk``) to the function that builds the network and to
what the rest of the benchmark must know about it: the input size it was trained at, the mean
and standard deviation its input pixels are normalised with (``data.transform: trunk`` reads
them from here), the dimension of its features, and the ImageNet weights file it loads from
the torch hub cache. The built-in trunks register themselves in their own modules
(``bninception.py``, ``resnet50.py``, ``small_cnn.py``); users register theirs in a plugin
(``mlrc --plugin my_trunk.py ...``)::

    @register_trunk("my_net", display="MyNet", input_size=224, mean=IMAGENET_MEAN,
                    std=IMAGENET_STD, feature_dim=512)
    def build_my_net(config: ModelConfig) -> nn.Module: ...

``timm/<name>`` names any model of the optional ``timm`` package (:mod:`.timm_trunk`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from benchmark.config import ModelConfig
from benchmark.errors import ConfigError
from benchmark.registry import Registry

if TYPE_CHECKING:
    from torch import nn

TrunkBuilder = Callable[[ModelConfig], "nn.Module"]
RGB = tuple[float, float, float]

TIMM_PREFIX = "timm/"
"""``model.trunk: timm/<model name>``: any model of the ``timm`` package."""


@dataclass(frozen=True)
class TrunkSpec:
    """Everything the benchmark knows about one trunk.

    ``mean`` and ``std`` are per RGB channel, for pixels scaled to [0, 1]: the input is
    ``(pixels / 255 - mean) / std``.
    """

    name: str
    display: str
    builder: TrunkBuilder
    input_size: int
    mean: RGB
    std: RGB
    feature_dim: int
    """Channels of the trunk's output (at the default settings, for a trunk with options)."""
    source: str = "plugin"
    """Where the trunk comes from: ``built-in``, ``timm`` or ``plugin``."""
    fixed_input_size: bool = False
    """The network takes ``input_size`` px only (a ViT's position embeddings)."""
    classifier_prefixes: tuple[str, ...] = ()
    """State-dict keys of a pretrained file that the trunk drops (its classifier)."""
    imagenet_weights: str | None = None
    """File name of the ImageNet weights in the torch hub cache (``model.weights: imagenet``)."""


_REGISTRY: Registry[TrunkSpec] = Registry("trunk", identity=lambda spec: spec.builder)


def per_channel(values: Iterable[float]) -> tuple[float, float, float]:
    """Three per-channel (R, G, B) values as floats; any other count is a mistake."""
    red, green, blue = (float(value) for value in values)
    return red, green, blue


def register_trunk(
    name: str,
    *,
    display: str,
    input_size: int,
    mean: RGB,
    std: RGB,
    feature_dim: int,
    fixed_input_size: bool = False,
    classifier_prefixes: tuple[str, ...] = (),
    imagenet_weights: str | None = None,
    replace: bool = False,
) -> Callable[[TrunkBuilder], TrunkBuilder]:
    """Register ``builder(config: ModelConfig) -> nn.Module`` as the trunk ``name``.

    The module the builder returns maps images to features (a ``feature_dim`` channel map or
    pooled vector) and has an ``out_features`` attribute; it is built with random weights
    (never a download): ``model.weights`` loads a local file into it.

    Args:
        name: the value of ``model.trunk``, lower case (``resnet50``).
        display: the label ``mlrc models`` shows (``ResNet-50``).
        input_size: the side in pixels the trunk was trained at (``data.image_size``).
        mean: per-channel mean of RGB pixels in [0, 1] that the trunk expects.
        std: per-channel standard deviation, in the same scale.
        feature_dim: channels of the trunk's output.
        fixed_input_size: the trunk takes ``input_size`` px only; another ``data.image_size``
            is refused when the protocol loads.
        classifier_prefixes: keys of its official weights file that the trunk does not have.
        imagenet_weights: the file name ``model.weights: imagenet`` looks up in the torch hub
            cache; None: the trunk has no ImageNet file (a path or ``none`` is needed).
        replace: allow re-registering an existing name (for notebooks that reload a plugin).
    """
    _REGISTRY.canonical_name(name)
    if name.startswith(TIMM_PREFIX):
        raise ValueError(f"trunk names starting with {TIMM_PREFIX!r} are timm's, got {name!r}")

    def decorator(builder: TrunkBuilder) -> TrunkBuilder:
        module = getattr(builder, "__module__", "") or ""
        spec = TrunkSpec(
            name=name,
            display=display,
            builder=builder,
            input_size=input_size,
            mean=per_channel(mean),
            std=per_channel(std),
            feature_dim=feature_dim,
            source="built-in" if module.startswith("benchmark.") else "plugin",
            fixed_input_size=fixed_input_size,
            classifier_prefixes=tuple(classifier_prefixes),
            imagenet_weights=imagenet_weights,
        )
        _REGISTRY.add(name, spec, replace=replace)
        return builder

    return decorator


def get_trunk_spec(name: str) -> TrunkSpec:
    """The registration of ``name`` (case-insensitive), or timm's model for ``timm/<model>``;
    an unknown name, or a timm name without timm installed, raises one clear ConfigError."""
    if name.strip().lower().startswith(TIMM_PREFIX):
        from benchmark.models.timm_trunk import timm_trunk_spec

        return timm_trunk_spec(name.strip().lower()[len(TIMM_PREFIX) :])
    spec = _REGISTRY.find(name)
    if spec is None:
        raise ConfigError(
            f"model.trunk: unknown trunk '{name}'; registered trunks: "
            f"{', '.join(_REGISTRY.names())}, or timm/<model name> with timm installed "
            "(register your own with --plugin my_trunk.py)"
        )
    return spec


def list_trunks() -> list[TrunkSpec]:
    """All registered trunks, in registration order (timm's models are not listed one by one)."""
    return _REGISTRY.entries()
