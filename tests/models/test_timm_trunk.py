"""``model.trunk: timm/<name>``: timm's models as trunks, their configuration, local weights only.

Needs the optional timm package: skipped without it, an error where MLRC_REQUIRE_EXTRAS=1.
"""

from __future__ import annotations

import pytest
import torch
from extra_checks import need_extra

from benchmark.config import ModelConfig
from benchmark.errors import ConfigError, WeightsNotFoundError
from benchmark.models import build_model, get_trunk_spec
from benchmark.models.timm_trunk import TimmTrunk

VIT = "test_vit"  # timm's own tiny ViT for tests: 160 px, 64-d features, 0.3 M parameters


@pytest.fixture(autouse=True)
def timm():
    return need_extra("timm", "timm")


def test_input_size_mean_std_and_features_come_from_timms_pretrained_config(timm):
    spec = get_trunk_spec(f"timm/{VIT}")
    network = timm.create_model(VIT, pretrained=False, num_classes=0)
    data = timm.data.resolve_data_config({}, model=network)
    assert (spec.name, spec.source) == (f"timm/{VIT}", "timm")
    assert spec.input_size == data["input_size"][-1] == 160
    assert (spec.mean, spec.std) == (tuple(data["mean"]), tuple(data["std"]))
    assert spec.feature_dim == network.num_features == 64
    assert spec.fixed_input_size and spec.classifier_prefixes == ("head.",)
    assert get_trunk_spec("timm/resnet10t").mean == (0.485, 0.456, 0.406)


def test_a_timm_trunk_embeds_its_pooled_features():
    model = build_model(ModelConfig(trunk=f"timm/{VIT}", weights="none", embedding_size=12))
    assert isinstance(model.trunk, TimmTrunk) and model.trunk.out_features == 64
    assert model.embedder.linear.in_features == 64
    assert model(torch.randn(2, 3, 160, 160)).shape == (2, 12)


def _timm_weights(timm, tmp_path, suffix: str, name: str = VIT):
    """A state dict of timm's model ``name`` with its classifier, as a hub file holds it."""
    torch.manual_seed(3)
    source = timm.create_model(name, pretrained=False)
    path = tmp_path / f"{name}{suffix}"
    if suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(source.state_dict(), str(path))
    else:
        torch.save(source.state_dict(), path)
    return source, path


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_local_weights_load_into_the_trunk_and_give_timms_features(timm, tmp_path, suffix):
    source, path = _timm_weights(timm, tmp_path, suffix)
    model = build_model(ModelConfig(trunk=f"timm/{VIT}", weights=str(path))).eval()
    images = torch.randn(2, 3, 160, 160)
    with torch.no_grad():
        expected = source.forward_head(source.forward_features(images), pre_logits=True)
        assert torch.equal(model.trunk(images), expected)


def test_a_missing_weights_file_names_the_path_and_downloads_nothing(tmp_path):
    missing = tmp_path / "vit.safetensors"
    with pytest.raises(WeightsNotFoundError, match=rf"{missing} \(nothing is downloaded\)"):
        build_model(ModelConfig(trunk=f"timm/{VIT}", weights=str(missing)))


def test_weights_of_another_model_are_refused_naming_the_keys(timm, tmp_path):
    _, path = _timm_weights(timm, tmp_path, ".safetensors", name="test_vit2")
    with pytest.raises(ConfigError, match=r"does not fit the TimmTrunk trunk \(missing keys"):
        build_model(ModelConfig(trunk=f"timm/{VIT}", weights=str(path)))


def test_imagenet_weights_of_a_timm_trunk_ask_for_a_local_file():
    with pytest.raises(ConfigError, match=r"no ImageNet weights file.*model.weights=PATH"):
        build_model(ModelConfig(trunk=f"timm/{VIT}", weights="imagenet"))


def test_an_unknown_timm_model_suggests_close_names():
    with pytest.raises(ConfigError, match=r"timm has no model 'vit_smal'.*close names: .*vit"):
        get_trunk_spec("timm/vit_smal")


def test_the_pool_linear_head_is_refused_on_pooled_timm_features():
    with pytest.raises(ConfigError, match="set model.head=linear"):
        build_model(ModelConfig(trunk=f"timm/{VIT}", weights="none", head="pool_linear"))
