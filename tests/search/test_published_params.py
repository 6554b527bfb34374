"""Published configurations: MLRC's shipped table and any CSV in its schema, with clear errors."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import pytest
import torch

from benchmark.config import load_protocol
from benchmark.config.reference_methods import MLRC2020_METHODS
from benchmark.errors import ConfigError
from benchmark.losses import build_loss, get_loss_spec
from benchmark.losses.search_space import load_search_space
from benchmark.search.fixed_params import published_params
from benchmark.search.published_params import (
    PublishedConfiguration,
    load_published_params,
    published_source_path,
    read_published,
)

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "results" / "reference" / "mlrc_eccv2020_best_hyperparameters.csv"
HEADER = "dataset,loss,parameter,value,extra,source_label\n"
SMALL = HEADER + (
    "cub,contrastive,pos_margin,-0.2000,batch_size=32,pos_margin\n"
    "cub,contrastive,neg_margin,0.3841,batch_size=32,neg_margin\n"
    "sop,contrastive,pos_margin,0.2850,batch_size=32,pos_margin\n"
    "sop,contrastive,neg_margin,0.5130,batch_size=32,neg_margin\n"
    "cub,contrastive,pos_margin,0.2227,batch_size=256,pos_margin\n"
    "cub,contrastive,neg_margin,0.7694,batch_size=256,neg_margin\n"
    "cub,arcface,scale,1.5e2,note=x; batch_size=32,scale\n"
)


@pytest.fixture
def small_csv(tmp_path) -> Path:
    path = tmp_path / "mine.csv"
    path.write_text(SMALL)
    return path


def test_a_csv_in_the_schema_gives_the_values_of_one_configuration(small_csv):
    assert load_published_params(small_csv, "cub", "contrastive") == {
        "pos_margin": -0.2,
        "neg_margin": 0.3841,
    }
    assert load_published_params(str(small_csv), "cub", "contrastive", batch_size=256) == {
        "pos_margin": 0.2227,
        "neg_margin": 0.7694,
    }
    assert load_published_params(small_csv, "cub", "arcface") == {"scale": 150.0}


def test_read_published_lists_what_a_source_covers(small_csv):
    covered = [(c.loss, c.dataset, c.batch_size) for c in read_published(small_csv)]
    assert covered == [
        ("arcface", "cub", 32),
        ("contrastive", "cub", 32),
        ("contrastive", "cub", 256),
        ("contrastive", "sop", 32),
    ]
    assert all(isinstance(c, PublishedConfiguration) for c in read_published(small_csv))


def test_mlrc2020_is_the_shipped_copy_of_the_reference_table():
    assert published_source_path("mlrc2020") == SHIPPED
    assert load_published_params("mlrc2020", "sop", "arcface") == {
        "loss_lr": 2.01e-3,
        "margin": 18.63,
        "scale": 220.3,
    }
    assert load_published_params("mlrc2020", "sop", "multi_similarity_miner")["beta"] == 156.61
    assert load_published_params("mlrc2020", "cub", "multi_similarity", 256) == {
        "alpha": 0.01,
        "beta": 46.85,
        "base": 0.82,
    }


def test_mlrc2020_matches_the_csv_row_by_row():
    with SHIPPED.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 143
    by_key = {(c.loss, c.dataset, c.batch_size): c.params for c in read_published("mlrc2020")}
    assert len(by_key) == 14 * 4  # 14 losses on CUB, Cars196, SOP at batch 32 and CUB at 256
    for row in rows:
        batch_size = int(row["extra"].removeprefix("batch_size="))
        assert by_key[row["loss"], row["dataset"], batch_size][row["parameter"]] == float(
            row["value"]
        )


def test_mlrc2020_covers_mlrc_fourteen_methods_by_their_registered_names():
    covered = {c.loss for c in read_published("mlrc2020")}
    assert covered == set(MLRC2020_METHODS)


@pytest.mark.parametrize("loss", MLRC2020_METHODS)
@pytest.mark.parametrize("dataset", ["cub", "cars196", "sop"])
def test_mlrc2020_configurations_lie_in_our_search_spaces(loss, dataset):
    params = load_published_params("mlrc2020", dataset, loss)
    space = load_search_space(get_loss_spec(loss), dataset)
    assert set(params) == set(space.params)
    for name, value in params.items():
        assert space.params[name].low <= value <= space.params[name].high, (name, value)


MLRC_CONFIGURATIONS = [
    pytest.param(c.loss, c.dataset, c.batch_size, id=f"{c.loss}-{c.dataset}-{c.batch_size}")
    for c in read_published("mlrc2020")
]


@pytest.mark.parametrize(("loss", "dataset", "batch_size"), MLRC_CONFIGURATIONS)
def test_every_mlrc2020_configuration_resolves_and_builds(loss, dataset, batch_size, caplog):
    """What `--params-from mlrc2020` trains: every (method, dataset, batch) of the file, at the
    protocol's batch size, with the loss's argument names, inside its search space."""
    config = load_protocol("mlrc", dataset, [f"training.batch_size={batch_size}"])
    with caplog.at_level(logging.WARNING):
        params = published_params(config, loss, "mlrc2020")
    assert not caplog.records, [record.getMessage() for record in caplog.records]
    published = load_published_params("mlrc2020", dataset, loss, batch_size)
    assert {name: params[name] for name in published} == published
    spec = get_loss_spec(loss)
    torch.manual_seed(0)
    module = build_loss(loss, num_classes=64, embedding_size=16, **params)
    labels = torch.arange(32 // spec.images_per_class).repeat_interleave(spec.images_per_class)
    embeddings = torch.randn(32, 16, requires_grad=True)
    value = module(embeddings, labels)
    assert torch.isfinite(value)
    value.backward()
    assert torch.isfinite(embeddings.grad).all()


def test_soft_triple_on_sop_trains_without_the_regulariser_mlrc_did_not_search():
    config = load_protocol("mlrc", "sop")
    params = published_params(config, "soft_triple", "mlrc2020")
    assert "reg_weight" not in load_published_params("mlrc2020", "sop", "soft_triple")
    assert params["reg_weight"] == 0.0 and params["centers_per_class"] == 10
    module = build_loss("soft_triple", num_classes=8, embedding_size=4, **params)
    assert module.weight_regularizer is None


def test_an_integer_hyperparameter_is_an_int_and_must_be_whole(tmp_path):
    config = load_protocol("mlrc", "cub")
    params = published_params(config, "fastap", "mlrc2020")
    assert params == {"num_bins": 17} and isinstance(params["num_bins"], int)
    path = tmp_path / "mine.csv"
    path.write_text(HEADER + "cub,fastap,num_bins,16.5,batch_size=32,num_bins\n")
    with pytest.raises(ConfigError, match=r"\(cub\): num_bins = 16.5 must be an integer"):
        published_params(config, "fastap", path)


def test_a_value_outside_the_search_space_is_used_with_a_warning_naming_it(tmp_path, caplog):
    path = tmp_path / "mine.csv"
    path.write_text(
        HEADER
        + "cub,arcface,margin,120,batch_size=32,margin\n"
        + "cub,arcface,scale,64,batch_size=32,scale\n"
        + "cub,arcface,loss_lr,0.01,batch_size=32,weights lr\n"
    )
    with caplog.at_level(logging.WARNING):
        params = published_params(load_protocol("mlrc", "cub"), "arcface", path)
    assert params["margin"] == 120.0
    (record,) = caplog.records
    message = record.getMessage()
    assert record.levelno == logging.WARNING
    assert "margin = 120 of loss 'arcface' lies outside its search space on cub [0, 90]" in message
    assert str(path) in message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("cub", "mfcwms"),
            r"no published parameters for loss 'mfcwms'; it has these losses: arcface, contrastive$",
        ),
        (
            ("cars196", "contrastive"),
            r"for loss 'contrastive' on dataset 'cars196'; it has 'contrastive' on: cub, sop$",
        ),
        (
            ("sop", "contrastive", 64),
            r"on dataset 'sop' with batch size 64; it has batch size\(s\) 32$",
        ),
    ],
)
def test_missing_configuration_names_what_the_source_has(small_csv, args, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_published_params(small_csv, *args)
    assert str(small_csv) in str(info.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "dataset,loss,param,value,extra\ncub,contrastive,pos_margin,1,batch_size=32\n",
            r"missing column\(s\) \['parameter'\]",
        ),
        (
            HEADER + "cub,contrastive,pos_margin,big,batch_size=32,x\n",
            r"line 2: value 'big' is not a finite number",
        ),
        (
            HEADER + "cub,contrastive,pos_margin,nan,batch_size=32,x\n",
            r"line 2: value 'nan' is not a finite number",
        ),
        (
            HEADER + "cub,contrastive,pos_margin,1,,x\n",
            r"line 2: the 'extra' column must state the batch size",
        ),
        (
            HEADER + "cub,contrastive,pos_margin,1,batch_size=lots,x\n",
            r"line 2: batch_size='lots' is not an integer",
        ),
        (
            HEADER
            + "cub,contrastive,pos_margin,1,batch_size=32,x\ncub,contrastive,pos_margin,2,batch_size=32,x\n",
            r"line 3: 'pos_margin' of contrastive on cub is given twice",
        ),
    ],
)
def test_malformed_csv_is_one_clear_error(tmp_path, body, message):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(ConfigError, match=message) as info:
        load_published_params(path, "cub", "contrastive")
    assert str(path) in str(info.value)


def test_unknown_source_says_what_a_source_can_be(tmp_path):
    with pytest.raises(
        ConfigError,
        match=r"'mlrc2021' not found: neither a file nor one of the shipped sources \(mlrc2020\)",
    ):
        load_published_params("mlrc2021", "cub", "contrastive")


def test_unreadable_file_is_one_clear_error(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="cannot read published parameters"):
        load_published_params(path, "cub", "contrastive")
