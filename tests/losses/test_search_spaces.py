"""Search-space files: the shipped ones are valid, and bad ones fail with one clear error."""

from __future__ import annotations

import pytest

from benchmark.errors import ConfigError
from benchmark.losses import get_loss_spec, list_losses
from benchmark.losses.search_space import load_search_space

MLRC_RANGES = {
    "contrastive": {"pos_margin": (-0.2, 2.0), "neg_margin": (-0.2, 2.0)},
    "multi_similarity": {"alpha": (0.01, 100), "beta": (0.01, 100), "base": (0, 1)},
    "multi_similarity_miner": {"epsilon": (0, 1)},
    "arcface": {"margin": (0, 90), "scale": (0.01, 200)},
    "cosface": {"margin": (0, 1), "scale": (0.01, 200)},
    "proxy_nca": {"softmax_scale": (0.01, 100)},
}


@pytest.mark.parametrize("spec", list_losses(), ids=lambda s: s.name)
def test_shipped_search_space_is_valid(spec):
    space = load_search_space(spec)
    assert space.params
    if spec.has_parameters:
        lr = space.params["loss_lr"]
        assert (lr.low, lr.high, lr.log) == (1e-6, 1.0, True)
    else:
        assert "loss_lr" not in space.params


@pytest.mark.parametrize("name", MLRC_RANGES)
def test_baselines_use_mlrc_ranges(name):
    space = load_search_space(get_loss_spec(name))
    for param, (low, high) in MLRC_RANGES[name].items():
        assert (space.params[param].low, space.params[param].high) == (low, high)
        assert not space.params[param].log


def test_mean_field_losses_fix_mf_reg_to_zero():
    for name in ("mfcont", "mfcwms"):
        assert load_search_space(get_loss_spec(name)).fixed["mf_reg"] == 0.0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("params:\n  alpha: {low: 1, high: 2, lgo: true}\n", r"params.alpha: unknown key\(s\) \['lgo'\]"),
        ("params:\n  alpha: {low: 5, high: 2}\n", r"params.alpha: low \(5\) is greater than high \(2\)"),
        ("params:\n  alpha: {low: 0, high: 2, log: true}\n", r"params.alpha: a log range needs low > 0"),
        ("params:\n  gamma: {low: 0, high: 2}\n", r"does not accept \['gamma'\]"),
        ("parameters:\n  alpha: {low: 0, high: 2}\n", r"unknown key\(s\) \['parameters'\]"),
        ("params:\n  alpha: {low: 1 high: 2}\n", r"malformed YAML"),
        ("params:\n  loss_lr: {low: 1.0e-6, high: 1, log: true}\n", r"no trainable parameters"),
    ],
)
def test_bad_search_space_names_file_and_key(tmp_path, body, message):
    path = tmp_path / "cwms.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=message) as info:
        load_search_space(get_loss_spec("cwms"), path)
    assert str(path) in str(info.value)


def test_loss_with_parameters_must_search_or_fix_loss_lr(tmp_path):
    path = tmp_path / "mfcwms.yaml"
    path.write_text("params:\n  alpha: {low: 0.1, high: 1}\n")
    with pytest.raises(ConfigError, match="must set loss_lr"):
        load_search_space(get_loss_spec("mfcwms"), path)
