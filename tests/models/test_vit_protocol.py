"""protocols/mlrc-vit.yaml: MLRC with timm's ViT-S/16 at 224 px, nothing else changed."""

from __future__ import annotations

import pytest
import torch
from extra_checks import need_extra
from PIL import Image

from benchmark.cli._common import load_registered_protocol
from benchmark.config import load_protocol
from benchmark.data import build_transforms
from benchmark.data.transforms import device_transform_of_pipeline
from benchmark.errors import WeightsNotFoundError
from benchmark.models import build_model
from benchmark.models.trunk_input import trunk_mean_std

# What the ViT protocol changes, and nothing else (docs/guide/protocols.md lists them).
VIT_CHANGES = {
    ("data", "transform"): "trunk",
    ("data", "image_size"): 224,
    ("model", "trunk"): "timm/vit_small_patch16_224",
    ("model", "weights"): "~/.cache/mlrc/weights/vit_small_patch16_224.augreg_in21k_ft_in1k"
    ".safetensors",
}


@pytest.mark.parametrize("dataset", ["cub", "cars196", "sop", "inshop"])
def test_the_vit_protocol_is_mlrc_but_for_the_trunk_and_its_input(dataset):
    mlrc = load_protocol("mlrc", dataset).to_dict()
    vit = load_protocol("mlrc-vit", dataset).to_dict()
    assert vit["name"] == "mlrc-vit"
    for (section, key), value in VIT_CHANGES.items():
        assert vit[section].pop(key) == value
        mlrc[section].pop(key)
    for key in ("name", "source"):
        mlrc.pop(key), vit.pop(key)
    assert vit == mlrc


def test_the_vit_protocol_passes_the_load_checks_and_its_pipeline_fits_the_network():
    need_extra("timm", "timm")
    config = load_registered_protocol("mlrc-vit", "cub")  # trunk known, 224 px = ViT's size
    assert trunk_mean_std(config) == ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    train, evaluation = build_transforms(config.data, trunk_mean_std=trunk_mean_std(config))
    images = torch.stack(
        [
            device_transform_of_pipeline(step).one(
                step(Image.new("RGB", (500, 375), (255, 0, 128)))
            )
            for step in (train, evaluation)
        ]
    )
    assert images.shape == (2, 3, 224, 224)
    expected = torch.tensor([1.0, -1.0, 128 / 255 * 2 - 1])
    assert torch.allclose(images[1, :, 112, 112], expected, atol=1e-6)
    config.model.weights = "none"
    model = build_model(config.model).eval()
    with torch.no_grad():
        assert model(images).shape == (2, 128)


def test_the_vit_protocol_names_where_its_local_weights_file_goes(tmp_path, monkeypatch):
    need_extra("timm", "timm")
    monkeypatch.setenv("HOME", str(tmp_path))
    config = load_registered_protocol("mlrc-vit", "cub")
    expected = (
        tmp_path / ".cache/mlrc/weights/vit_small_patch16_224.augreg_in21k_ft_in1k.safetensors"
    )
    with pytest.raises(WeightsNotFoundError, match=f"weights not found at {expected}"):
        build_model(config.model)
