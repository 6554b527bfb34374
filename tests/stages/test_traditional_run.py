"""The traditional protocol end to end (in miniature): defaults instead of a search, one model
per repeat, Tables 2-3, and an ablation grid whose rows give Table 6."""

from __future__ import annotations

import json

import pandas as pd
from run_helpers import set_args

from benchmark.cli import main

TINY = [
    "data.synthetic_classes=48", "data.synthetic_images_per_class=8", "training.batch_size=24",
    "training.max_epochs=2", "training.eval_batch_size=64", "retrain.repeats=2",
]  # fmt: skip


def test_traditional_run_trains_each_loss_with_its_defaults_and_renders_tables_2_3(
    tmp_path, capsys
):
    run_dir = tmp_path / "run"
    args = ["run", "--protocol", "traditional-demo", "--losses", "proxy_anchor,mfcwms"]
    assert main([*args, "--run-dir", str(run_dir), "--no-progress", *set_args(TINY)]) == 0
    printed = capsys.readouterr().out
    assert "| MAP@R | Epoch |" in printed and "| MFCWMS |" in printed

    rows = pd.read_csv(run_dir / "results.csv")
    trained = rows[rows["loss"] != "untrained"]
    assert set(trained["mode"]) == {"single"} and set(trained["dim"]) == {128}
    assert set(trained["params_source"]) == {"protocol"}
    assert {"recall_at_1", "recall_at_8", "map_at_r"} <= set(trained["metric"])
    mfcwms = json.loads(trained.loc[trained["loss"] == "mfcwms", "params"].iloc[0])
    assert mfcwms == {"alpha": 0.01, "beta": 80.0, "base": 0.8, "mf_reg": 0.0, "mf_power": 2.0,
                      "loss_lr": 1e-3 * 200}  # fmt: skip
    best_epochs = trained["best_epochs"].map(json.loads)
    assert all(len(epochs) == 1 and 1 <= epochs[0] <= 2 for epochs in best_epochs)
    curve = json.loads(
        (run_dir / "retrain" / "mfcwms" / "repeat_0" / "fold_0" / "curve.json").read_text()
    )
    assert [row["epoch"] for row in curve] == [0, 1, 2] and "val_recall_at_4" in curve[-1]

    out = tmp_path / "tables"
    assert main(["tables", str(run_dir), "--out", str(out)]) == 0
    table = (out / "table2_3_traditional.md").read_text()
    assert "MAP@R" in table and "Epoch" in table and "| ProxyAnch. |" in table


def test_mf_reg_ablation_gathers_its_points_into_the_table_6_layout(tmp_path, capsys):
    run_dir = tmp_path / "ablation"
    args = [
        "ablate",
        "mf-reg",
        "--protocol",
        "traditional-demo",
        "--values",
        "0,1",
        "--losses",
        "mfcwms",
    ]
    tiny = [*TINY, "retrain.repeats=1", "training.max_epochs=1"]
    assert main([*args, "--run-dir", str(run_dir), "--no-progress", *set_args(tiny)]) == 0
    assert "| γ = 0 | γ = 1 |" in capsys.readouterr().out  # the paper's notation

    rows = pd.read_csv(run_dir / "results.csv")
    assert set(rows["ablation"]) == {"mf-reg"}
    assert sorted(set(rows["ablation_value"])) == ['{"mf_reg": 0.0}', '{"mf_reg": 1.0}']
    params = {json.loads(p)["mf_reg"] for p in rows["params"]}
    assert params == {0.0, 1.0}, "each point trained with its own mf_reg"

    before = (run_dir / "results.csv").read_bytes()
    assert main([*args, "--run-dir", str(run_dir), "--no-progress", *set_args(tiny)]) == 0
    assert (run_dir / "results.csv").read_bytes() == before, "a finished grid was run again"

    out = tmp_path / "tables"
    assert main(["tables", str(run_dir), "--out", str(out)]) == 0
    assert "γ = 0" in (out / "table6_mf_reg.md").read_text()
