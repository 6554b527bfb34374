"""Fixed hyperparameters are checked against the loss's registration, as search spaces are."""

from __future__ import annotations

import pytest

from benchmark.config import load_protocol
from benchmark.errors import ConfigError
from benchmark.study.fixed_params import published_params

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
