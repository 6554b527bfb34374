"""The informational commands: `mlrc losses`, `mlrc data check`, `--help` examples."""

from __future__ import annotations

import json

import pytest

from benchmark.cli import EXAMPLES, main


def test_losses_lists_every_loss_with_kind_parameters_and_search_space(capsys):
    assert main(["losses", "--json"]) == 0
    entries = {e["name"]: e for e in json.loads(capsys.readouterr().out)}
    assert len(entries) >= 10
    assert entries["mfcwms"]["display"] == "MFCWMS"
    assert entries["mfcwms"]["kind"] == "classification" and entries["mfcwms"]["parameters"]
    assert "loss_lr log [1e-06, 1]" in entries["mfcwms"]["search_space"]
    assert entries["cwms"]["kind"] == "pair" and not entries["cwms"]["parameters"]
    assert not any(e["search_space"].startswith("INVALID") for e in entries.values())


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


@pytest.mark.parametrize("command", [["run"], ["worker"], ["data", "check"], ["profile", "losses"]])
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
