"""`mlrc run --params-from`: retrain with a published configuration instead of searching."""

from __future__ import annotations

import json

import optuna
import pandas as pd
from run_helpers import set_args

from benchmark.cli import main

PUBLISHED = """dataset,loss,parameter,value,extra,source_label
synthetic,contrastive,pos_margin,0.1234,batch_size=16,pos_margin
synthetic,contrastive,neg_margin,0.8765,batch_size=16,neg_margin
synthetic,proxy_nca,softmax_scale,7.5,batch_size=16,softmax_scale
synthetic,proxy_nca,loss_lr,3.0e-3,batch_size=16,proxy lr
"""


def test_run_retrains_with_exactly_the_published_values_and_searches_nothing(
    tmp_path, tiny_overrides, capsys
):
    source = tmp_path / "published.csv"
    source.write_text(PUBLISHED)
    run_dir = tmp_path / "run"
    overrides = [*tiny_overrides, "retrain.repeats=1", "training.max_epochs=1"]
    args = ["run", "--losses", "contrastive,proxy_nca", "--params-from", str(source)]
    assert main([*args, "--run-dir", str(run_dir), "--no-progress", *set_args(overrides)]) == 0

    rows = pd.read_csv(run_dir / "results.csv")
    trained = rows[rows["loss"] != "untrained"]
    assert set(trained["params_source"]) == {str(source)}
    params = {loss: json.loads(group["params"].iloc[0]) for loss, group in trained.groupby("loss")}
    assert params["contrastive"] == {"pos_margin": 0.1234, "neg_margin": 0.8765}
    assert params["proxy_nca"] == {"softmax_scale": 7.5, "loss_lr": 3.0e-3}
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(run_dir / "optuna.journal"))
    )
    assert optuna.get_all_study_names(storage) == [], "a study was run although nothing is searched"
    assert json.loads((run_dir / "run.json").read_text())["protocol"]["study"][
        "params_from"
    ] == str(source)


def test_a_dataset_the_configuration_lacks_is_one_clear_error(tmp_path, tiny_overrides, capsys):
    args = [
        "run",
        "--losses",
        "contrastive",
        "--params-from",
        "mlrc2020",
        "--run-dir",
        str(tmp_path / "r"),
    ]
    assert main([*args, *set_args(tiny_overrides)]) == 2
    error = capsys.readouterr().err
    assert "synthetic" in error and "cub" in error and "sop" in error
    assert not (tmp_path / "r").exists()
