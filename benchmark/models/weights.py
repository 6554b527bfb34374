"""Pretrained trunk weights, read from local files only (this package never downloads).

``model.weights`` is ``"imagenet"`` (the file the official loader would have downloaded, looked up
in the torch hub cache), ``"none"`` (random initialisation) or the path of a local file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from benchmark.errors import ConfigError, WeightsNotFoundError

# The file names of the official downloads; the torch hub cache stores a download under its
# URL's file name, so a user who ever loaded these weights online already has them.
IMAGENET_WEIGHT_FILES: dict[str, str] = {
    # pretrainedmodels.pretrained_settings["bninception"]["imagenet"]["url"]
    "bninception": "bn_inception-52deb4733.pth",
    # torchvision.models.ResNet50_Weights.IMAGENET1K_V1.url
    "resnet50": "resnet50-0676ba61.pth",
}


def hub_checkpoint_dir() -> Path:
    """``$TORCH_HOME/hub/checkpoints`` (default ``~/.cache/torch/hub/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def imagenet_weights_path(trunk: str) -> Path:
    """Where the ImageNet weights of ``trunk`` must be (the torch hub cache)."""
    if trunk not in IMAGENET_WEIGHT_FILES:
        raise ConfigError(
            f"model.weights=imagenet: trunk '{trunk}' has no pretrained weights; "
            "set model.weights=none (--set model.weights=none) or give the path of a weights file"
        )
    return hub_checkpoint_dir() / IMAGENET_WEIGHT_FILES[trunk]


def resolve_weights(trunk: str, weights: str) -> Path | None:
    """The local file that holds ``weights`` for ``trunk``, or None for random initialisation.

    Raises:
        WeightsNotFoundError: the file does not exist; the message names the exact path.
    """
    choice = weights.strip()
    if choice.lower() == "none":
        return None
    path = imagenet_weights_path(trunk) if choice.lower() == "imagenet" else Path(choice)
    path = path.expanduser()
    if not path.is_file():
        what = f"ImageNet weights of '{trunk}'" if choice.lower() == "imagenet" else "weights"
        raise WeightsNotFoundError(
            f"{what} not found at {path} (nothing is downloaded); put the file there, "
            "or set model.weights=none (--set model.weights=none) to train from scratch"
        )
    return path


def load_weights(
    trunk: torch.nn.Module, path: Path, *, ignore_prefixes: tuple[str, ...] = ()
) -> None:
    """Load a weights file into ``trunk`` (strict, on the CPU).

    Accepted files: the official state dict of the trunk's network (the ImageNet files; loaded
    into ``trunk.weights_target`` when the trunk wraps the network, else into ``trunk``), or a
    checkpoint of this benchmark (``{"model": ...}``), whose ``trunk.`` entries are used. Keys
    starting with one of ``ignore_prefixes`` (a classifier the trunk does not have) are dropped;
    tensors that differ from the model's only by singleton dimensions are reshaped.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 (any unreadable file is the same user error)
        raise ConfigError(f"model.weights: cannot read {path}: {exc}") from None
    state = _unwrap(state, path)
    module = getattr(trunk, "weights_target", trunk)
    if any(key.startswith("trunk.") for key in state):
        state = {k.removeprefix("trunk."): v for k, v in state.items() if k.startswith("trunk.")}
        module = trunk
    state = {k: v for k, v in state.items() if not k.startswith(ignore_prefixes)}
    expected = module.state_dict()
    for key, value in state.items():
        target = expected.get(key)
        if (
            target is not None
            and value.shape != target.shape
            and value.numel() == target.numel()
            and value.squeeze().shape == target.squeeze().shape
        ):
            state[key] = value.reshape(target.shape)
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ConfigError(
            f"model.weights: {path} does not fit the {type(trunk).__name__} trunk "
            f"(missing keys {missing[:3]}{'...' if len(missing) > 3 else ''}, "
            f"unexpected keys {unexpected[:3]}{'...' if len(unexpected) > 3 else ''}); "
            "check model.trunk, or set model.weights=none"
        )
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1].strip()
        raise ConfigError(f"model.weights: {path} does not fit the trunk: {first}") from None


def _unwrap(state: object, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(state, Mapping):
        for key in ("model", "state_dict"):
            if key in state and isinstance(state[key], Mapping):
                return dict(state[key])
        if all(isinstance(v, torch.Tensor) for v in state.values()):
            return dict(state)
    raise ConfigError(
        f"model.weights: {path} holds a {type(state).__name__}, not a state dict of tensors"
    )
