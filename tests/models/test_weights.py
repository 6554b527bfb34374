"""Pretrained weights come from local files only, with a clear error when absent."""

from __future__ import annotations

import pytest
import torch

from benchmark.config import ModelConfig
from benchmark.errors import ConfigError, WeightsNotFoundError
from benchmark.models import BNInceptionTrunk, SmallCNN, build_model, imagenet_weights_path


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch"


@pytest.mark.parametrize(
    ("trunk", "file_name"),
    [("bninception", "bn_inception-52deb4733.pth"), ("resnet50", "resnet50-0676ba61.pth")],
)
def test_missing_imagenet_weights_name_the_exact_hub_cache_path(torch_home, trunk, file_name):
    expected = torch_home / "hub" / "checkpoints" / file_name
    assert imagenet_weights_path(trunk) == expected
    with pytest.raises(WeightsNotFoundError) as error:
        build_model(ModelConfig(trunk=trunk, weights="imagenet"))
    assert str(expected) in str(error.value)
    assert "--set model.weights=none" in str(error.value)


def test_imagenet_weights_are_read_from_the_hub_cache(torch_home):
    # The official file holds the whole network, classifier included, some BN tensors (1, C).
    official = BNInceptionTrunk().network.state_dict()
    official = {k: torch.randn_like(v) if v.is_floating_point() else v for k, v in official.items()}
    official["last_linear.weight"] = torch.randn(1000, 1024)
    official["last_linear.bias"] = torch.randn(1000)
    official["conv1_7x7_s2_bn.weight"] = official["conv1_7x7_s2_bn.weight"].reshape(1, -1)
    path = torch_home / "hub" / "checkpoints" / "bn_inception-52deb4733.pth"
    path.parent.mkdir(parents=True)
    torch.save(official, path)

    model = build_model(ModelConfig(trunk="bninception", weights="imagenet"))
    loaded = model.trunk.network.state_dict()
    assert torch.equal(loaded["inception_5b_3x3_bn.running_var"],
                       official["inception_5b_3x3_bn.running_var"])  # fmt: skip
    assert torch.equal(loaded["conv1_7x7_s2_bn.weight"], official["conv1_7x7_s2_bn.weight"][0])


def test_a_weights_file_path_is_loaded(tmp_path):
    source = SmallCNN(width=8)
    for parameter in source.parameters():
        torch.nn.init.uniform_(parameter)
    path = tmp_path / "my_trunk.pt"
    torch.save(source.state_dict(), path)
    model = build_model(ModelConfig(trunk="small_cnn", small_cnn_width=8, weights=str(path)))
    for key, value in source.state_dict().items():
        assert torch.equal(model.trunk.state_dict()[key], value), key


def test_a_missing_weights_file_path_is_named(tmp_path):
    path = tmp_path / "absent.pth"
    with pytest.raises(WeightsNotFoundError, match=str(path)):
        build_model(ModelConfig(trunk="small_cnn", weights=str(path)))


def test_a_weights_file_of_another_architecture_is_a_config_error(tmp_path):
    path = tmp_path / "wide.pt"
    torch.save(SmallCNN(width=16).state_dict(), path)
    with pytest.raises(ConfigError, match="does not fit"):
        build_model(ModelConfig(trunk="small_cnn", small_cnn_width=8, weights=str(path)))


def test_small_cnn_has_no_imagenet_weights():
    with pytest.raises(ConfigError, match="small_cnn.*model.weights=none"):
        build_model(ModelConfig(trunk="small_cnn", weights="imagenet"))
