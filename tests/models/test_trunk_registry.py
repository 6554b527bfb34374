"""register_trunk: the built-in trunks, a plugin's trunk, the checks a protocol gets from its
trunk, and the mean/std the ``trunk`` pipeline reads from the registration."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest
import torch
from PIL import Image
from torch import nn

from benchmark.cli import main
from benchmark.config import DataConfig, ModelConfig, load_protocol
from benchmark.data import build_transforms
from benchmark.data.transforms import device_transform_of_pipeline
from benchmark.errors import ConfigError
from benchmark.models import (
    BNInceptionTrunk,
    ResNet50Trunk,
    SmallCNN,
    build_model,
    get_trunk_spec,
    list_trunks,
    register_trunk,
)
from benchmark.models.trunk_input import check_trunk_input, trunk_mean_std


class TinyTrunk(nn.Module):
    out_features = 6

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.conv(images)


def build_tiny(config: ModelConfig) -> TinyTrunk:
    return TinyTrunk()


def register_tiny(**options):
    settings = {"display": "Tiny", "input_size": 24, "mean": (0.1, 0.2, 0.3)}
    settings |= {"std": (0.5, 0.25, 0.125), "feature_dim": 6, **options}
    return register_trunk("tiny", **settings)(build_tiny)


def test_the_three_built_in_trunks_are_registered_with_what_they_take_and_give():
    specs = {spec.name: spec for spec in list_trunks()}
    assert list(specs)[:3] == ["bninception", "resnet50", "small_cnn"]
    assert (specs["bninception"].input_size, specs["bninception"].feature_dim) == (227, 1024)
    assert (specs["resnet50"].input_size, specs["resnet50"].feature_dim) == (224, 2048)
    assert specs["resnet50"].mean == (0.485, 0.456, 0.406)
    assert {spec.source for spec in specs.values()} == {"built-in"}
    assert specs["bninception"].feature_dim == BNInceptionTrunk.out_features
    assert specs["resnet50"].feature_dim == ResNet50Trunk.out_features
    assert (
        specs["small_cnn"].feature_dim == SmallCNN(width=ModelConfig.small_cnn_width).out_features
    )


def test_bninception_mean_std_are_the_caffe_pipeline_in_rgb_0_1_terms():
    spec = get_trunk_spec("bninception")
    pixels = torch.tensor([255.0, 10.0, 0.0])  # R, G, B
    normalised = (pixels / 255 - torch.tensor(spec.mean)) / torch.tensor(spec.std)
    caffe_bgr = torch.tensor([0.0 - 104, 10.0 - 117, 255.0 - 128])  # BGR, 0-255, minus mean
    assert torch.allclose(normalised.flip(0), caffe_bgr, atol=1e-3)


def test_a_registered_trunk_is_built_by_name_whatever_the_case():
    register_tiny()
    model = build_model(ModelConfig(trunk="Tiny", weights="none", embedding_size=5))
    assert isinstance(model.trunk, TinyTrunk)
    assert model(torch.randn(2, 3, 24, 24)).shape == (2, 5)
    assert get_trunk_spec("tiny").source == "plugin"


def test_trunk_names_follow_the_registry_rules():
    register_tiny()
    register_tiny()  # the same builder again: a module imported twice
    with pytest.raises(ValueError, match="'tiny' is already registered"):
        register_trunk("tiny", display="x", input_size=1, mean=(0, 0, 0), std=(1, 1, 1),
                       feature_dim=1)(lambda config: TinyTrunk())  # fmt: skip
    with pytest.raises(ValueError, match="lower case"):
        register_trunk("Tiny2", display="x", input_size=1, mean=(0, 0, 0), std=(1, 1, 1),
                       feature_dim=1)  # fmt: skip
    with pytest.raises(ValueError, match="timm"):
        register_trunk("timm/mine", display="x", input_size=1, mean=(0, 0, 0), std=(1, 1, 1),
                       feature_dim=1)  # fmt: skip


def test_an_unknown_trunk_is_one_error_naming_the_registered_ones_and_timm():
    with pytest.raises(ConfigError, match=r"unknown trunk 'resnet18'.*small_cnn.*timm/<model"):
        build_model(ModelConfig(trunk="resnet18", weights="none"))


def test_imagenet_weights_of_a_trunk_without_a_hub_file_ask_for_a_path():
    register_tiny()
    with pytest.raises(ConfigError, match=r"'tiny' has no ImageNet weights.*model.weights=PATH"):
        build_model(ModelConfig(trunk="tiny", weights="imagenet"))


def test_a_fixed_size_trunk_refuses_another_image_size_when_the_protocol_loads():
    register_tiny(fixed_input_size=True)
    config = load_protocol("demo", overrides=["model.trunk=tiny", "data.image_size=32"])
    with pytest.raises(ConfigError, match=r"data.image_size: 32 px.*set data.image_size=24"):
        check_trunk_input(config)
    config.data.image_size = 24
    assert check_trunk_input(config).name == "tiny"


def test_the_trunk_pipeline_normalises_with_the_mean_and_std_of_the_registration():
    register_tiny()
    overrides = ["model.trunk=tiny", "data.transform=trunk", "data.image_size=24",
                 "data.resize=24"]  # fmt: skip
    config = load_protocol("demo", overrides=overrides)
    assert trunk_mean_std(config) == ((0.1, 0.2, 0.3), (0.5, 0.25, 0.125))
    _, evaluation = build_transforms(config.data, trunk_mean_std=trunk_mean_std(config))
    finish = device_transform_of_pipeline(evaluation)  # uint8 pixels -> the network's input
    out = finish.one(evaluation(Image.new("RGB", (40, 30), (255, 51, 0))))
    expected = [(1.0 - 0.1) / 0.5, (0.2 - 0.2) / 0.25, (0.0 - 0.3) / 0.125]
    assert out.shape == (3, 24, 24)
    assert torch.allclose(out[:, 12, 12], torch.tensor(expected), atol=1e-6)


def test_the_trunk_pipeline_without_the_trunk_mean_std_is_refused():
    with pytest.raises(ConfigError, match="data.transform: trunk"):
        build_transforms(DataConfig(transform="trunk"))


def test_mlrc_models_lists_the_trunks_of_a_plugin(tmp_path, capsys):
    plugin = tmp_path / "my_trunk.py"
    plugin.write_text(
        textwrap.dedent("""
        from torch import nn
        from benchmark.models import register_trunk

        @register_trunk("pluggy", display="Pluggy", input_size=96, mean=(0.4, 0.4, 0.4),
                        std=(0.2, 0.2, 0.2), feature_dim=77)
        def build_pluggy(config):
            return nn.Identity()
    """)
    )
    assert main(["--plugin", str(plugin), "models", "--json"]) == 0
    listed = {entry["name"]: entry for entry in json.loads(capsys.readouterr().out)}
    assert list(listed)[:3] == ["bninception", "resnet50", "small_cnn"]
    assert (listed["pluggy"]["input_size"], listed["pluggy"]["feature_dim"]) == (96, 77)
    assert listed["pluggy"]["source"] == "plugin"
    assert main(["models"]) == 0
    table = capsys.readouterr().out
    assert "small_cnn" in table and "timm/<name>" in table


def test_a_protocol_with_an_unknown_trunk_stops_with_one_line(capsys):
    code = main(["run", "--protocol", "demo", "--set", "model.trunk=nope", "--run-dir", "x"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: model.trunk: unknown trunk 'nope'")


def test_a_timm_trunk_without_timm_installed_is_one_line_with_the_install_command(
    monkeypatch, capsys
):
    from benchmark.models.timm_trunk import timm_trunk_spec

    timm_trunk_spec.cache_clear()
    monkeypatch.setitem(sys.modules, "timm", None)  # `import timm` now fails as if absent
    monkeypatch.setitem(sys.modules, "timm.data", None)
    overrides = ["--set", "model.trunk=timm/vit_small_patch16_224"]
    assert main(["run", "--protocol", "demo", *overrides, "--run-dir", "x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: model.trunk: timm/<name> needs the optional timm package: "
        "pip install 'mlrc-benchmark[timm]' (or: pip install timm)"
    ]
    timm_trunk_spec.cache_clear()
