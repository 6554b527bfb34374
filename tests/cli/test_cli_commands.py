"""The informational commands: `mlrc losses`, `mlrc data list|check`, `--help` examples."""

from __future__ import annotations

import json
import re

import pytest

from benchmark.cli import EXAMPLES, main


def _losses_json(capsys, *args: str) -> dict[str, dict]:
    assert main(["losses", *args, "--json"]) == 0
    return {entry["name"]: entry for entry in json.loads(capsys.readouterr().out)}


MLRC_OTHER_METHODS = (
    "triplet",
    "ntxent",
    "margin",
    "margin_per_class",
    "normalized_softmax",
    "fastap",
    "snr_contrastive",
    "soft_triple",
)


def test_losses_lists_every_loss_with_kind_parameters_and_search_space(capsys):
    entries = _losses_json(capsys)
    assert len(entries) >= 24
    assert set(MLRC_OTHER_METHODS) <= set(entries)
    mfcwms = entries["mfcwms"]
    keys = {"name", "display", "description", "kind", "has_parameters", "origin", "search_space"}
    assert keys | {"fixed", "parameter_weight_decay"} <= set(mfcwms)
    assert mfcwms["display"] == "MFCWMS"
    assert mfcwms["kind"] == "classification" and mfcwms["has_parameters"] is True
    assert mfcwms["search_space"]["loss_lr"] == {"low": 1e-6, "high": 1.0, "log": True}
    assert mfcwms["search_space"]["alpha"] == {"low": 0.01, "high": 100.0, "log": False}
    assert mfcwms["fixed"] == {"mf_reg": 0.0, "mf_power": 2.0}
    assert entries["cwms"]["kind"] == "pair" and entries["cwms"]["has_parameters"] is False
    assert not any("error" in entry for entry in entries.values())
    assert {entries[name]["origin"] for name in MLRC_OTHER_METHODS} == {"mlrc2020"}
    assert entries["circle"]["origin"] == "this project"
    assert entries["margin"]["parameter_weight_decay"] == 0.0
    assert entries["triplet"]["description"].startswith("Triplet margin loss")


def test_losses_json_resolves_the_search_spaces_for_a_batch_size(capsys):
    entries = _losses_json(capsys, "--dataset", "cub", "--batch-size", "256")
    assert entries["fastap"]["search_space"]["num_bins"]["high"] == 250.0
    assert main(["losses", "--dataset", "cub", "--batch-size", "256"]) == 0
    assert "search space (cub, batch 256)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("dataset", "expected"),
    [
        ("cub", {"ntxent": (1e-4, 100.0), "soft_triple": (1e-4, 100.0), "la": (0.01, 100.0)}),
        ("cars196", {"ntxent": (1e-5, 100.0), "soft_triple": (0.01, 100.0), "la": (0.01, 100.0)}),
        ("sop", {"ntxent": (1e-5, 100.0), "soft_triple": (0.01, 100.0), "la": (0.01, 200.0)}),
    ],
)
def test_losses_json_gives_mlrc_bounds_of_its_methods_per_dataset(capsys, dataset, expected):
    entries = _losses_json(capsys, "--dataset", dataset)
    temperature = entries["ntxent"]["search_space"]["temperature"]
    assert (temperature["low"], temperature["high"], temperature["log"]) == (
        *expected["ntxent"],
        True,
    )
    soft_triple = entries["soft_triple"]["search_space"]
    assert (soft_triple["gamma"]["low"], soft_triple["gamma"]["high"]) == expected["soft_triple"]
    assert (soft_triple["la"]["low"], soft_triple["la"]["high"]) == expected["la"]
    assert ("reg_weight" in soft_triple) is (dataset != "sop")
    assert entries["fastap"]["search_space"]["num_bins"] == {
        "low": 3.0 if dataset == "sop" else 2.0,
        "high": 32.0,
        "log": False,
        "int": True,
    }
    assert entries["margin"]["search_space"]["init_beta"] == {
        "low": -0.2,
        "high": 2.0,
        "log": False,
    }


def test_losses_resolve_the_search_spaces_for_a_dataset(capsys):
    sop = _losses_json(capsys, "--dataset", "sop")
    assert sop["arcface"]["search_space"]["scale"] == {"low": 0.01, "high": 300.0, "log": False}
    assert sop["multi_similarity_miner"]["search_space"]["beta"]["high"] == 200.0
    cub = _losses_json(capsys, "--dataset", "cub")
    assert cub["multi_similarity"]["search_space"]["alpha"]["low"] == 0.001
    assert cub["arcface"]["search_space"]["scale"]["high"] == 200.0


def test_losses_table_shows_the_dataset_it_resolved(capsys):
    assert main(["losses", "--dataset", "sop"]) == 0
    table = capsys.readouterr().out
    assert "search space (sop)" in table.splitlines()[0]
    assert re.search(
        r"arcface\s+ArcFace\s+classification\s+yes\s+mlrc2020\s+margin \[0, 90\], "
        r"scale \[0.01, 300\]",
        table,
    )


def test_losses_with_an_unknown_dataset_is_one_clear_error(capsys):
    assert main(["losses", "--dataset", "sopp", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == (
        "error: unknown dataset 'sopp'; available datasets: cub, cars196, sop, inshop, folder, synthetic"
    )


def test_losses_report_a_broken_plugin_search_space_and_list_the_others(capsys, tmp_path):
    (tmp_path / "unscaled.yaml").write_text("params:\n  scale: {low: 1, high: 2}\n")
    plugin = tmp_path / "unscaled_loss.py"
    plugin.write_text(
        "from pytorch_metric_learning.losses import ContrastiveLoss\n"
        "from benchmark.losses import register_loss\n\n"
        "@register_loss('unscaled', display='Unscaled', kind='pair', search_space='unscaled.yaml')\n"
        "def build(num_classes, embedding_size, scale=1.0):\n"
        "    return ContrastiveLoss()\n"
    )
    assert main(["--plugin", str(plugin), "losses", "--json"]) == 0
    entries = {entry["name"]: entry for entry in json.loads(capsys.readouterr().out)}
    assert entries["unscaled"]["search_space"] is None
    assert "params.scale: 'log' is required" in entries["unscaled"]["error"]
    assert entries["mfcwms"]["search_space"]["alpha"]["high"] == 100.0


def test_losses_markdown_prints_the_loss_and_search_space_tables(capsys):
    from benchmark.losses import list_losses
    from benchmark.losses.listing import loss_table, search_space_table

    assert main(["losses", "--markdown"]) == 0
    expected = loss_table(list_losses()) + "\n" + search_space_table(list_losses())
    assert capsys.readouterr().out == expected


def test_data_check_json_reports_the_synthetic_split_and_folds(capsys, tiny_overrides):
    code = main(["data", "check", "--dataset", "synthetic", "--protocol", "demo", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["problems"] == []
    assert report["num_classes"] == 100 and report["num_images"] == 3000
    assert len(report["trainval_classes"]) == len(report["test_classes"]) == 50
    assert len(report["folds"]) == 4
    for fold in report["folds"]:
        assert not set(fold["train_classes"]) & set(report["test_classes"])
        assert not set(fold["val_classes"]) & set(fold["train_classes"])


def test_the_dataset_is_named_as_registered_so_its_protocol_entry_applies():
    from benchmark.cli._common import load_registered_protocol

    config = load_registered_protocol("traditional", "SOP")
    assert config.dataset == "sop"
    assert config.training.trunk_lr == 6e-4 and config.training.lr_gamma == 0.25


def test_every_shipped_protocol_names_registered_datasets_only():
    from benchmark.cli._common import load_registered_protocol
    from benchmark.config import available_protocols
    from benchmark.errors import ConfigError
    from benchmark.models.timm_trunk import timm_available

    for name in available_protocols():
        if name == "mlrc-vit" and not timm_available():  # its trunk is timm's: one clear line
            with pytest.raises(ConfigError, match=r"needs the optional timm package: pip"):
                load_registered_protocol(name, None)
            continue
        assert load_registered_protocol(name, None).dataset


def test_data_list_shows_every_registered_dataset_with_label_and_layout(capsys):
    from benchmark.data import read_folder, register_dataset

    register_dataset("toy", display="Toy set", layout="<root>/toy.csv")(read_folder)
    assert main(["data", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"name\s+table\s+layout", lines[0])
    assert re.fullmatch(r"cub\s+CUB\s+CUB_200_2011/ with images.txt, .*\.jpg", lines[1])
    assert re.fullmatch(r"toy\s+Toy set\s+<root>/toy.csv", lines[-1])
    assert [line.split()[0] for line in lines[1:]] == [
        "cub", "cars196", "sop", "inshop", "folder", "synthetic", "toy"
    ]  # fmt: skip

    assert main(["data", "list", "--json"]) == 0
    entries = {entry["name"]: entry for entry in json.loads(capsys.readouterr().out)}
    assert entries["sop"]["official_split"] == "ebay_split"
    assert entries["cub"]["official_split"] == "class_halves_split"
    assert entries["synthetic"]["needs_root"] is False and entries["toy"]["display"] == "Toy set"


def test_data_list_markdown_escapes_the_pipes_of_a_layout(capsys):
    assert main(["data", "list", "--markdown"]) == 0
    table = capsys.readouterr().out.splitlines()
    inshop = next(line for line in table if line.startswith("| `inshop` |"))
    assert "train\\|query\\|gallery" in inshop
    assert all(line.replace("\\|", "").count("|") == 4 for line in table)


@pytest.mark.parametrize(
    "command", [["run"], ["worker"], ["data", "check"], ["data", "list"], ["profile", "losses"]]
)
def test_every_help_shows_a_real_example(capsys, command):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    assert "example: " + EXAMPLES[" ".join(command)] in " ".join(capsys.readouterr().out.split())


def test_profile_losses_prints_ratios_and_writes_csv(capsys, tmp_path):
    csv = tmp_path / "deep" / "losses.csv"
    args = ["profile", "losses", "--batch-sizes", "32", "--num-classes", "100", "--repeats", "1"]
    assert main([*args, "--embedding-size", "16", "--threads", "1", "--csv", str(csv)]) == 0
    printed = capsys.readouterr().out
    assert "mfcwms_direct_cxc" in printed and "time/PA" in printed
    rows = csv.read_text().splitlines()
    assert len(rows) == 1 + 6 and "mfcwms" in rows[1]


def test_run_reads_the_protocol_once(capsys, tmp_path, monkeypatch):
    import benchmark.config
    import benchmark.stages.pipeline

    real_load = benchmark.config.load_protocol
    calls = []

    def counting_load(*args, **kwargs):
        calls.append(args)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(benchmark.config, "load_protocol", counting_load)
    monkeypatch.setattr(
        benchmark.stages.pipeline,
        "run_stages",
        lambda context, losses: benchmark.stages.pipeline.StagesOutcome(finished=losses),
    )
    args = ["run", "--losses", "mfcwms", "--run-dir", str(tmp_path / "r"), "--no-progress"]
    assert main(args) == 0
    printed = capsys.readouterr()
    table = (tmp_path / "r" / "table.md").read_text()
    assert len(calls) == 1 and "losses: mfcwms" in printed.err and printed.out == table
