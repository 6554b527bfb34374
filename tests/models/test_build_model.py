"""build_model: trunks, heads and frozen BatchNorm."""

from __future__ import annotations

import pytest
import torch

from benchmark.config import ModelConfig
from benchmark.errors import ConfigError
from benchmark.models import EmbeddingModel, PoolLinearEmbedder, build_model


def config(**overrides) -> ModelConfig:
    return ModelConfig(**{"weights": "none", **overrides})


@pytest.mark.parametrize("head", ["linear", "pool_linear"])
def test_small_cnn_embeds_images_to_embedding_size(head):
    model = build_model(config(trunk="small_cnn", head=head, embedding_size=24))
    assert isinstance(model, EmbeddingModel)
    assert model(torch.randn(4, 3, 32, 32)).shape == (4, 24)
    assert model(torch.randn(2, 3, 64, 64)).shape == (2, 24)


def test_small_cnn_width_sets_the_trunk_output():
    model = build_model(config(trunk="small_cnn", small_cnn_width=8))
    assert model.trunk.out_features == 32
    assert model.embedder.linear.in_features == 32


def test_resnet50_embeds_to_embedding_size_from_2048_features():
    model = build_model(config(trunk="resnet50", embedding_size=16)).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 64, 64)).shape == (1, 16)
    assert model.embedder.linear.in_features == 2048


def test_bninception_embeds_to_embedding_size_from_1024_features():
    model = build_model(config(trunk="bninception", embedding_size=16)).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 32, 32)).shape == (1, 16)
    assert model.embedder.linear.in_features == 1024
    assert not any(name.startswith("network.last_linear") for name, _ in model.named_parameters())


def test_embeddings_are_not_normalised():
    model = build_model(config(trunk="small_cnn")).eval()
    norms = model(torch.randn(8, 3, 32, 32)).norm(dim=1)
    assert not torch.allclose(norms, torch.ones_like(norms))


@pytest.mark.parametrize("head", ["linear", "pool_linear"])
def test_relu_activation_follows_the_linear_layer_and_makes_embeddings_non_negative(head):
    torch.manual_seed(0)
    model = build_model(config(trunk="small_cnn", head=head, embedder_activation="relu"))
    plain = build_model(config(trunk="small_cnn", head=head, embedder_activation="none"))
    plain.load_state_dict(model.state_dict())
    images = torch.randn(6, 3, 32, 32)
    with torch.no_grad():
        embeddings, linear = model.eval()(images), plain.eval()(images)
    assert (linear < 0).any(), "the linear output has negative entries for the ReLU to cut"
    assert torch.equal(embeddings, linear.clamp(min=0))


def test_a_relu_before_the_linear_layer_would_do_nothing_on_bninception_features():
    # Why "relu" acts after the linear layer: MLRC's MLP puts it before, on pooled features that
    # are already non-negative (the trunk ends with a ReLU), so there it changes nothing.
    trunk = build_model(config(trunk="bninception")).trunk.eval()
    with torch.no_grad():
        features = trunk(torch.randn(2, 3, 64, 64))
    assert features.min() >= 0 and features.max() > 0


def test_pool_linear_head_sums_average_and_max_pooling_with_kaiming_init():
    head = PoolLinearEmbedder(64, 512)
    assert torch.all(head.linear.bias == 0)
    # kaiming normal, fan-out mode: std = sqrt(2 / 512)
    assert head.linear.weight.std().item() == pytest.approx((2 / 512) ** 0.5, rel=0.05)
    feature_map = torch.randn(2, 64, 3, 3)
    pooled = feature_map.mean(dim=(2, 3)) + feature_map.amax(dim=(2, 3))
    assert torch.allclose(head(feature_map), head.linear(pooled))


def test_frozen_batchnorm_stays_in_eval_mode_under_train():
    model = build_model(config(trunk="small_cnn", freeze_batchnorm=True))
    model.train()
    norms = [m for m in model.trunk.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and all(not m.training for m in norms)
    assert model.training and model.embedder.training
    before = [m.running_mean.clone() for m in norms]
    model(torch.randn(8, 3, 32, 32)).sum().backward()
    assert all(torch.equal(m.running_mean, b) for m, b in zip(norms, before, strict=True))
    assert all(m.weight.requires_grad and m.weight.grad is not None for m in norms)


def test_unfrozen_batchnorm_updates_running_statistics():
    model = build_model(config(trunk="small_cnn", freeze_batchnorm=False)).train()
    norm = next(m for m in model.trunk.modules() if isinstance(m, torch.nn.BatchNorm2d))
    before = norm.running_mean.clone()
    model(torch.randn(8, 3, 32, 32))
    assert norm.training and not torch.equal(norm.running_mean, before)


@pytest.mark.parametrize("momentum", [0.1, 0.9])
def test_bn_momentum_weights_the_new_batch_statistics_as_pytorch_does(momentum):
    # running_mean <- (1 - m) running_mean + m batch_mean, computed here from the layer's input.
    torch.manual_seed(0)
    model = build_model(config(trunk="small_cnn", freeze_batchnorm=False, bn_momentum=momentum))
    norm = next(m for m in model.trunk.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert norm.momentum == momentum
    norm.running_mean.fill_(0.5)
    inputs = []
    norm.register_forward_pre_hook(lambda module, args: inputs.append(args[0].detach()))
    model.train()(torch.randn(8, 3, 32, 32))
    batch_mean = inputs[0].double().mean(dim=(0, 2, 3))
    expected = (1 - momentum) * 0.5 + momentum * batch_mean
    assert torch.allclose(norm.running_mean.double(), expected, atol=1e-6)


def test_bn_momentum_defaults_to_pytorchs():
    model = build_model(config(trunk="small_cnn"))
    norms = [m for m in model.trunk.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and all(m.momentum == 0.1 for m in norms)


def test_unknown_trunk_is_a_config_error():
    bad = config(trunk="small_cnn")
    bad.trunk = "vgg"
    with pytest.raises(ConfigError, match="model.trunk"):
        build_model(bad)
