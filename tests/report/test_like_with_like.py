"""A table compares only like with like: cells of losses searched under another budget than the
rest of their column are marked (md, tex, csv) and the notes say why; the plugins a run recorded
name its datasets; the untrained networks have no epoch."""

from __future__ import annotations

import json

import pandas as pd
from fixed_results import demo_rows
from test_cli_tables import make_run_dir

from benchmark.cli import main


def _with_budgets(run, budgets: dict[tuple[str, int], str]) -> None:
    """Give the run's searched rows the ``n_trials`` of their (loss, repeat)."""
    rows = pd.read_csv(run / "results.csv", dtype=str, keep_default_na=False)
    rows["n_trials"] = [
        budgets.get((loss, int(repeat)), "") if source == "search" else ""
        for loss, repeat, source in zip(
            rows["loss"], rows["repeat"], rows["params_source"], strict=True
        )
    ]
    rows.to_csv(run / "results.csv", index=False)


def _tables(run, out) -> tuple[str, str, pd.DataFrame]:
    assert main(["tables", str(run), "--out", str(out), "--no-figures"]) == 0
    table = pd.read_csv(out / "table1.csv", keep_default_na=False)
    return (out / "table1.md").read_text(), (out / "table1.tex").read_text(), table


def _row(markdown: str, label: str) -> str:
    return next(line for line in markdown.splitlines() if line.startswith(f"| {label} |"))


def test_a_loss_searched_with_fewer_trials_is_marked_in_md_tex_and_csv_and_explained(tmp_path):
    run = make_run_dir(tmp_path / "run", curves=False, journal=False)
    budgets = {("contrastive", r): "2" for r in range(2)} | {("mfcwms", r): "5" for r in range(2)}
    _with_budgets(run, budgets)
    markdown, latex, table = _tables(run, tmp_path / "out")

    assert _row(markdown, "Cont.").count("(2 trials)") == 2  # 128D and 512D
    assert "trials" not in _row(markdown, "MFCWMS") and "trials" not in _row(
        markdown, "no training"
    )
    assert "(k trials): its loss's hyperparameters were searched with k Optuna trials" in markdown
    assert r"\textsuperscript{2 trials}" in latex and r"\textsuperscript{k trials}:" in latex
    assert "not a like-for-like comparison" in latex
    marked = table.loc[table["unlike_budget"], "loss"]
    assert set(marked) == {"contrastive"} and len(marked) == 2
    assert set(table.loc[table["loss"] == "mfcwms", "n_trials"]) == {"5"}
    assert set(table.loc[table["loss"] == "untrained", "n_trials"]) == {""}


def test_losses_searched_alike_are_not_marked_and_their_budget_is_in_the_csv(tmp_path):
    run = make_run_dir(tmp_path / "run", curves=False, journal=False)
    _with_budgets(run, {(loss, r): "5" for loss in ("contrastive", "mfcwms") for r in range(2)})
    markdown, latex, table = _tables(run, tmp_path / "out")
    assert "trials" not in markdown and "trials" not in latex
    assert set(table["unlike_budget"]) == {False}


def test_repeats_under_two_budgets_and_an_unknown_one_are_marked_as_such(tmp_path):
    run = make_run_dir(tmp_path / "run", curves=False, journal=False)
    budgets = {("contrastive", 0): "2", ("contrastive", 1): "5", ("mfcwms", 0): "5"}
    _with_budgets(run, budgets)  # mfcwms repeat 1: written before budgets were recorded
    markdown, _, _ = _tables(run, tmp_path / "out")
    assert "(2/5 trials)" in _row(markdown, "Cont.")
    assert "(unknown/5 trials)" in _row(markdown, "MFCWMS")


def test_the_untrained_networks_have_no_epoch_in_the_traditional_table(tmp_path):
    rows = demo_rows(repeats=3)
    rows = rows[rows["mode"] == "separated"].assign(mode="single")
    rows["best_epochs"] = ["[0]" if loss == "untrained" else "[4]" for loss in rows["loss"]]
    rows.to_csv(tmp_path / "results.csv", index=False)
    out = tmp_path / "out"
    assert main(["tables", str(tmp_path / "results.csv"), "--out", str(out), "--no-figures"]) == 0
    markdown = (out / "table2_3_traditional.md").read_text()
    untrained = _row(markdown, "no training")
    assert untrained.endswith("| — |") and "-1.0" not in markdown
    assert _row(markdown, "Cont.").endswith("| 3.0 ± 0.0 |")
    assert "never trained, so no epoch" in markdown


PLUGIN = """
from benchmark.data import read_folder, register_dataset


@register_dataset("toyset", display="Toy Set", layout="<root>/<class>/<images>")
def read_toyset(root):
    return read_folder(root, name="toyset")
"""


def test_mlrc_tables_loads_the_plugins_the_run_recorded_so_datasets_keep_their_names(
    tmp_path, capsys
):
    plugin = tmp_path / "toy_plugin.py"
    plugin.write_text(PLUGIN)
    run = make_run_dir(tmp_path / "run", dataset="toyset", curves=False, journal=False)
    manifest = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**manifest, "plugins": [str(plugin)]}))
    assert main(["tables", str(run), "--out", str(tmp_path / "out"), "--no-figures"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("**MAP@R on Toy Set under the demo protocol")

    plugin.unlink()  # a recorded plugin that is gone: one line naming it and the run
    assert main(["tables", str(run), "--out", str(tmp_path / "out"), "--no-figures"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: plugin file not found") and str(run / "run.json") in err


def _run_of(tmp_path, name: str, losses: set[str], trunk_lr: float):
    """A demo run directory holding ``losses`` only, made with ``trunk_lr``."""
    run = make_run_dir(tmp_path / name, curves=False, journal=False)
    rows = pd.read_csv(run / "results.csv")
    rows[rows["loss"].isin(losses)].to_csv(run / "results.csv", index=False)
    manifest = json.loads((run / "run.json").read_text())
    manifest["protocol"]["training"] = {"trunk_lr": trunk_lr, "device": name}  # device: free
    (run / "run.json").write_text(json.dumps(manifest))
    return run


def test_runs_made_with_other_settings_are_refused_in_one_table_unless_allowed_then_marked(
    tmp_path, capsys
):
    first = _run_of(tmp_path, "first", {"contrastive", "untrained"}, 0.001)
    second = _run_of(tmp_path, "second", {"mfcwms"}, 0.01)
    out = tmp_path / "out"
    args = ["tables", str(first), str(second), "--out", str(out), "--no-figures"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "training.trunk_lr: 0.001 there, 0.01 here" in err
    assert "--allow-mixed-settings" in err and "device" not in err

    assert main([*args, "--allow-mixed-settings"]) == 0
    markdown = (out / "table1.md").read_text()
    assert _row(markdown, "MFCWMS").count("(trunk_lr=0.01)") == 2
    assert "trunk_lr" not in _row(markdown, "Cont.")
    assert "(setting=value): from a run made with that setting" in markdown
    assert r"\textsuperscript{trunk\_lr=0.01}" in (out / "table1.tex").read_text()
    table = pd.read_csv(out / "table1.csv", keep_default_na=False)
    assert set(table.loc[table["loss"] == "mfcwms", "settings"]) == {"trunk_lr=0.01"}

    third = _run_of(tmp_path, "third", {"mfcwms"}, 0.001)  # made alike: no mark, no refusal
    assert main(["tables", str(first), str(third), "--out", str(tmp_path / "o3")]) == 0
    assert "settings" not in pd.read_csv(tmp_path / "o3" / "table1.csv").columns
