"""Fixed hyperparameters are checked against the loss's registration, as search spaces are."""

from __future__ import annotations

import pytest

from benchmark.config import load_protocol
from benchmark.errors import ConfigError
from benchmark.search.fixed_params import fixed_params, published_params

HEADER = "dataset,loss,parameter,value,extra,source_label\n"
MARGINS = (
    "cub,contrastive,pos_margin,0.2,batch_size=32,x\n"
    "cub,contrastive,neg_margin,0.5,batch_size=32,x\n"
)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("bogus", r"loss 'contrastive' does not accept \['bogus'\]; it accepts"),
        ("loss_lr", r"\['loss_lr'\] set, but loss 'contrastive' has no trainable parameters"),
    ],
)
def test_a_published_name_the_loss_does_not_take_is_one_clear_error(tmp_path, extra, message):
    path = tmp_path / "mine.csv"
    path.write_text(HEADER + MARGINS + f"cub,contrastive,{extra},1,batch_size=32,x\n")
    config = load_protocol("mlrc", "cub", ["training.batch_size=32"])
    with pytest.raises(ConfigError, match=message) as info:
        published_params(config, "contrastive", path)
    assert str(info.value).startswith(f"published configuration {path}: ")


@pytest.mark.parametrize(
    ("overrides", "loss", "expected"),
    [
        (["study.search=true"], "proxy_anchor", True),
        (["study.search=false"], "proxy_anchor", False),
        (["study.params_from=mlrc2020"], "arcface", False),
    ],
)
def test_searches_says_whether_fixed_params_gives_none(overrides, loss, expected):
    config = load_protocol("traditional", "cub", ["training.batch_size=32", *overrides])
    assert config.study.searches is expected
    assert (fixed_params(config, loss) is None) is expected
