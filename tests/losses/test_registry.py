"""The registry: names, kinds, parameters, search spaces, and one optimizer step per loss."""

from __future__ import annotations

import optuna
import pytest
import torch

from benchmark.config.reference_methods import MLRC2020_METHODS
from benchmark.errors import UnknownLossError
from benchmark.losses import (
    build_loss,
    get_loss_spec,
    list_losses,
    register_loss,
)
from benchmark.losses.search_space import load_search_space
from benchmark.registry import registry_restored

PAPER_LOSSES = [
    "contrastive",
    "multi_similarity",
    "multi_similarity_miner",
    "arcface",
    "cosface",
    "proxy_nca",
    "proxy_anchor",
    "cwms",
    "mfcont",
    "mfcwms",
]
MLRC_OTHER_METHODS = [
    "triplet",
    "ntxent",
    "margin",
    "margin_per_class",
    "normalized_softmax",
    "fastap",
    "snr_contrastive",
    "soft_triple",
]
NEVER_RAN_BY_MLRC = [
    "circle",
    "supcon",
    "subcenter_arcface",
    "tuplet_margin",
    "lifted_structure",
    "histogram",
    "nca",
]
ALL_LOSSES = PAPER_LOSSES + MLRC_OTHER_METHODS + NEVER_RAN_BY_MLRC
# Classification losses (class weights, proxies, centers, mean fields) need no pair in a batch:
# one image per class. Margin/class learns a beta per class but scores pairs: m per class.
CLASSIFICATION = {
    "arcface",
    "cosface",
    "proxy_nca",
    "proxy_anchor",
    "mfcont",
    "mfcwms",
    "normalized_softmax",
    "soft_triple",
    "subcenter_arcface",
}
PAIR_BASED = set(ALL_LOSSES) - CLASSIFICATION
WITH_PARAMETERS = CLASSIFICATION | {"margin", "margin_per_class"}


def midpoint_params(name: str) -> dict:
    space = load_search_space(get_loss_spec(name))
    fixed = {}
    for p in space.params.values():
        fixed[p.name] = (p.low * p.high) ** 0.5 if p.log else (p.low + p.high) / 2
    return space.suggest(optuna.trial.FixedTrial(fixed))


def test_the_paper_mlrc_and_newer_losses_are_registered_in_that_order():
    names = [spec.name for spec in list_losses()]
    assert names[: len(ALL_LOSSES)] == ALL_LOSSES
    assert set(MLRC2020_METHODS) <= set(names) and len(MLRC2020_METHODS) == 14


@pytest.mark.parametrize("name", ALL_LOSSES)
def test_kind_decides_images_per_class(name):
    spec = get_loss_spec(name)
    assert spec.kind == ("pair" if name in PAIR_BASED else "classification")
    assert spec.images_per_class == (4 if name in PAIR_BASED else 1)


@pytest.mark.parametrize("name", ALL_LOSSES)
def test_declared_parameters_match_the_module(name):
    loss = build_loss(name, num_classes=10, embedding_size=16, **midpoint_params(name))
    has_tensors = any(p.requires_grad for p in loss.parameters())
    assert get_loss_spec(name).has_parameters == has_tensors == (name in WITH_PARAMETERS)


@pytest.mark.parametrize("name", ALL_LOSSES)
def test_builds_from_name_and_yaml_and_takes_one_optimizer_step(name):
    torch.manual_seed(0)
    params = midpoint_params(name)
    spec = get_loss_spec(name)
    loss = build_loss(name, num_classes=8, embedding_size=16, **params)
    embedder = torch.nn.Linear(32, 16)
    groups = [{"params": embedder.parameters(), "lr": 1e-2}]
    if spec.has_parameters:
        assert "loss_lr" in params
        groups.append({"params": loss.parameters(), "lr": params["loss_lr"]})
    optimizer = torch.optim.RMSprop(groups, momentum=0.9)
    labels = torch.arange(8).repeat_interleave(4)
    inputs = torch.randn(32, 32)
    before = [p.detach().clone() for p in embedder.parameters()]
    value = loss(embedder(inputs), labels)
    assert value.dim() == 0 and torch.isfinite(value)
    optimizer.zero_grad()
    value.backward()
    optimizer.step()
    changed = any(not torch.equal(a, b) for a, b in zip(before, embedder.parameters(), strict=True))
    assert changed or value.item() == 0.0


def test_build_loss_passes_hyperparameters_by_their_names():
    loss = build_loss("mfcwms", num_classes=5, embedding_size=4, alpha=0.5, beta=7.0, base=0.3)
    assert loss.mean_fields.shape == (5, 4)
    pa = build_loss(
        "proxy_anchor", num_classes=5, embedding_size=4, margin=0.2, alpha=16.0, loss_lr=0.1
    )
    assert pa.margin == 0.2 and pa.alpha == 16.0


def test_unknown_loss_names_the_registered_ones():
    with pytest.raises(UnknownLossError, match="unknown loss 'mfcmws'.*mfcwms"):
        get_loss_spec("mfcmws")


@pytest.mark.parametrize("name", ALL_LOSSES)
def test_registry_decides_the_optimizer_groups(name):
    from benchmark.config import ModelConfig, TrainingConfig
    from benchmark.engine import LossBundle, build_optimizers
    from benchmark.models import build_model

    params = midpoint_params(name)
    spec = get_loss_spec(name)
    model = build_model(
        ModelConfig(trunk="small_cnn", weights="none", embedding_size=16, small_cnn_width=4)
    )
    loss = LossBundle.build(name, params, num_classes=8, embedding_size=16)
    optimizers = build_optimizers(model, loss, TrainingConfig())
    assert set(optimizers) == (
        {"trunk", "embedder", "loss"} if spec.has_parameters else {"trunk", "embedder"}
    )
    if spec.has_parameters:
        assert optimizers["loss"].param_groups[0]["lr"] == params["loss_lr"]


@pytest.mark.parametrize(
    ("name", "weight_decay"), [("margin", 0.0), ("margin_per_class", 0.0), ("arcface", 3e-4)]
)
def test_a_registration_can_set_the_weight_decay_of_the_loss_parameters(name, weight_decay):
    """MLRC trained Margin's beta without weight decay; other losses take the protocol's."""
    from benchmark.config import ModelConfig, TrainingConfig
    from benchmark.engine import LossBundle, build_optimizers
    from benchmark.models import build_model

    model = build_model(
        ModelConfig(trunk="small_cnn", weights="none", embedding_size=16, small_cnn_width=4)
    )
    loss = LossBundle.build(name, midpoint_params(name), num_classes=8, embedding_size=16)
    config = TrainingConfig(loss_weight_decay=3e-4, weight_decay=2e-4)
    optimizers = build_optimizers(model, loss, config)
    assert optimizers["loss"].param_groups[0]["weight_decay"] == weight_decay
    assert optimizers["trunk"].param_groups[0]["weight_decay"] == 2e-4


def test_a_weight_decay_without_parameters_is_refused():
    with pytest.raises(ValueError, match="parameter_weight_decay needs has_parameters=True"):
        register_loss("bad", display="B", kind="pair", parameter_weight_decay=0.0)


def test_the_description_is_the_first_line_of_the_builder_docstring():
    assert get_loss_spec("ntxent").description == (
        "NT-Xent (InfoNCE) loss over the positive pairs of the batch (PML NTXentLoss)."
    )


def test_registry_restored_forgets_the_losses_registered_inside_the_block():
    before = [spec.name for spec in list_losses()]
    with registry_restored():
        register_loss("throwaway", display="T", kind="pair")(
            lambda num_classes, embedding_size: None
        )
        assert "throwaway" in [spec.name for spec in list_losses()]
    assert [spec.name for spec in list_losses()] == before


def test_nca_is_pml_nca_and_zero_on_a_batch_without_a_positive_pair():
    from pytorch_metric_learning.losses import NCALoss

    embeddings = torch.randn(16, 8, generator=torch.Generator().manual_seed(0))
    paired = torch.arange(4).repeat_interleave(4)
    nca = build_loss("nca", num_classes=16, embedding_size=8, softmax_scale=3.0)
    torch.testing.assert_close(nca(embeddings, paired), NCALoss(3.0)(embeddings, paired))
    assert torch.isnan(NCALoss(3.0)(embeddings, torch.arange(16)))  # PML alone
    single = embeddings.clone().requires_grad_(True)
    value = nca(single, torch.arange(16))
    value.backward()
    assert value.item() == 0.0 and torch.equal(single.grad, torch.zeros_like(single))
