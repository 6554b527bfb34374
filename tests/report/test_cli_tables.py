"""``mlrc tables``: sources, outputs, figures, and one clear error for bad input."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pytest
from fixed_results import demo_rows, write_fixed_results, write_profile
from optuna.distributions import FloatDistribution
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from PIL import Image

from benchmark.cli import main


def make_run_dir(
    path,
    dataset="synthetic",
    confidence=0.95,
    curves=True,
    journal=True,
    losses=("contrastive", "mfcwms"),
):
    """A finished demo-like run directory: rows, run.json, learning curves, Optuna journal."""
    path.mkdir(parents=True)
    rows = demo_rows(dataset)
    rows.to_csv(path / "results.csv", index=False)
    manifest = {
        "protocol": {"name": "demo", "dataset": dataset, "retrain": {"confidence": confidence}}
    }
    (path / "run.json").write_text(json.dumps({**manifest, "storage": None}))
    if curves:
        for k, loss in enumerate(("contrastive", "mfcwms")):
            for repeat in range(2):
                for fold in range(4):
                    start = 0.05 + 0.003 * fold + 0.002 * repeat
                    curve = [
                        {"iteration": 20 * e, "epoch": e, "loss": None if e == 0 else 1 / (e + 1),
                         "val_map_at_r": start + (0.02 + 0.01 * k) * e}
                        for e in range(4 + fold % 2)  # folds stop at different epochs
                    ]  # fmt: skip
                    fold_dir = path / "retrain" / loss / f"repeat_{repeat}" / f"fold_{fold}"
                    fold_dir.mkdir(parents=True)
                    (fold_dir / "curve.json").write_text(json.dumps(curve))
    if journal:
        storage = JournalStorage(JournalFileBackend(str(path / "optuna.journal")))
        distributions = {
            "alpha": FloatDistribution(0.01, 100, log=True),
            "base": FloatDistribution(0.0, 1.0),
        }
        for loss in losses:
            study = optuna.create_study(
                study_name=f"demo.{dataset}.{loss}", storage=storage, direction="maximize"
            )
            for number in range(6):
                alpha, base = 0.01 * 3**number, (number * 0.37) % 1
                folds = {fold: 0.1 + 0.05 * base + 0.01 * fold for fold in range(4)}
                running = {k: sum(folds[j] for j in range(k + 1)) / (k + 1) for k in folds}
                study.add_trial(
                    optuna.trial.create_trial(
                        params={"alpha": alpha, "base": base},
                        distributions=distributions,
                        value=sum(folds.values()) / 4,
                        intermediate_values=running,
                        user_attrs={f"fold_{k}": {"val_map_at_r": v} for k, v in folds.items()},
                    )
                )
    return path


def assert_is_a_real_figure(path):
    image = Image.open(path)
    assert image.format == "PNG" and image.width >= 400 and image.height >= 300
    colours = np.asarray(image.convert("RGB")).reshape(-1, 3)
    assert len(np.unique(colours, axis=0)) > 50, f"{path.name} looks blank"


def test_run_directory_gives_tables_and_figures(tmp_path, capsys):
    run = make_run_dir(tmp_path / "run")
    out = tmp_path / "tables"
    assert main(["tables", str(run), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for name in ("table1", "table_full_synthetic"):
        assert all((out / f"{name}.{suffix}").is_file() for suffix in ("md", "tex", "csv"))
        assert f"  {name}.{{md,tex,csv}}" in printed
    for name in (
        "curves_demo_synthetic",
        "optuna_history_demo_synthetic",
        "optuna_importance_demo_synthetic",
    ):
        assert_is_a_real_figure(out / f"{name}.png")
        assert f"  {name}.png" in printed
    assert printed.startswith("**MAP@R on Synthetic under the demo protocol, in percent: ")
    assert "figure 3a: no 'embedding-dim' ablation rows" in printed  # said, not silent


def test_a_run_with_one_study_draws_its_optuna_figures(tmp_path, capsys):
    run = make_run_dir(tmp_path / "run", curves=False, losses=("mfcwms",))
    assert main(["tables", str(run), "--out", str(tmp_path / "tables")]) == 0
    assert_is_a_real_figure(tmp_path / "tables" / "optuna_history_demo_synthetic.png")
    assert_is_a_real_figure(tmp_path / "tables" / "optuna_importance_demo_synthetic.png")


def test_run_dir_option_prints_table1_with_the_chosen_metrics(tmp_path, capsys):
    run = make_run_dir(tmp_path / "run", curves=False, journal=False)
    args = ["tables", "--run-dir", str(run), "--metrics", "map_at_r,precision_at_1"]
    assert main([*args, "--out", str(tmp_path / "out")]) == 0
    table = capsys.readouterr().out
    assert "| no training |" in table and "over 2 repeats" in table
    assert table.index("| Cont. |") < table.index("| MFCWMS |") < table.index("| no training |")
    # One Table 1 per metric, each with the paper's 128D and 512D columns.
    assert table.index("**MAP@R on Synthetic") < table.index("**P@1 on Synthetic")
    assert table.count("| Loss | 128D | 512D |") == 2


def test_a_folder_with_only_results_lists_the_figures_it_cannot_make(tmp_path, capsys):
    run = make_run_dir(tmp_path / "run", curves=False, journal=False)
    assert (
        main(["tables", str(run / "results.csv"), str(tmp_path / "none"), "--out", str(tmp_path)])
        == 2
    )
    capsys.readouterr()
    assert main(["tables", str(run), "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "skipped:" in printed
    assert (
        f"learning curves of {run}: no retrain/<loss>/repeat_*/fold_*/curve.json there" in printed
    )
    assert f"Optuna figures of {run}: no Optuna journal in {run}" in printed
    assert not (run / "optuna.journal").exists()  # looking did not create a storage


def test_runs_of_several_datasets_merge_into_table1(tmp_path, capsys):
    cub = make_run_dir(tmp_path / "cub", "cub", curves=False, journal=False)
    cars = make_run_dir(tmp_path / "cars", "cars196", curves=False, journal=False)
    assert main(["tables", str(cars), str(cub), "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "| Loss | CUB 128D | CUB 512D | Cars196 128D | Cars196 512D |" in printed
    assert (tmp_path / "out" / "table_full_cub.md").is_file()
    assert (tmp_path / "out" / "table_full_cars196.md").is_file()


def test_unknown_metric_is_one_error_line(tmp_path, capsys):
    run = make_run_dir(tmp_path / "run", curves=False, journal=False)
    assert (
        main(["tables", str(run), "--metrics", "map_at_r,recall", "--out", str(tmp_path / "out")])
        == 2
    )
    error = capsys.readouterr().err
    assert error.startswith("error: unknown metric 'recall' in --metrics; choose from map_at_r,")
    assert error.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_runs_with_different_confidence_levels_need_a_choice(tmp_path, capsys):
    first = make_run_dir(tmp_path / "a", "cub", confidence=0.95, curves=False, journal=False)
    second = make_run_dir(tmp_path / "b", "cars196", confidence=0.9, curves=False, journal=False)
    out = str(tmp_path / "out")
    assert main(["tables", str(first), str(second), "--out", out]) == 2
    assert "different confidence levels" in capsys.readouterr().err
    assert main(["tables", str(first), str(second), "--out", out, "--confidence", "0.9"]) == 0
    assert "90% Student-t confidence interval" in capsys.readouterr().out


def test_tables_needs_a_source(capsys):
    assert main(["tables"]) == 2
    assert "needs a SOURCE" in capsys.readouterr().err


def test_runtime_table_alone(tmp_path, capsys):
    profile = write_profile(tmp_path / "profile.csv")
    assert main(["tables", "--runtime", str(profile), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "table_runtime.tex").is_file()
    printed = capsys.readouterr().out
    assert printed.startswith("**Runtime: time of one forward + backward step (ms), cpu**")
    assert "skipped:" not in printed  # no results, so no figure of results was expected


def test_a_reference_file_without_rows_says_what_to_add(tmp_path, capsys):
    run = make_run_dir(tmp_path / "run", curves=False, journal=False)
    template = tmp_path / "reference.csv"
    template.write_text("dataset,loss,mode,dim,metric,mean,ci_low,ci_high,n,source\n")
    assert main(["tables", str(run), "--reference", str(template), "--out", str(tmp_path)]) == 2
    assert "has no rows; add one line per published value" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("cub,mfcwms,concatenated,512,map_at_r,45.2,,,,Paper", "must be a fraction in [0, 1]"),
        ("cub,mfcwms,concatenated,512,map_at_r,0.45,0.44,,,Paper", "give both ci_low and ci_high"),
        ("cub,mfcwms,concatenated,512,map_at_r,0.45,0.46,0.47,,Paper", "within [ci_low, ci_high]"),
        ("cub,mfcwms,concatenated,wide,map_at_r,0.45,,,,Paper", "'dim' must be a number"),
    ],
)
def test_a_malformed_reference_value_names_its_line(tmp_path, capsys, line, problem):
    run = make_run_dir(tmp_path / "run", curves=False, journal=False)
    reference = tmp_path / "reference.csv"
    reference.write_text(
        "dataset,loss,mode,dim,metric,mean,ci_low,ci_high,n,source\n" + line + "\n"
    )
    assert main(["tables", str(run), "--reference", str(reference), "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "reference.csv, line 2: " in error and problem in error


def test_ablation_figures_are_drawn_from_the_ablation_rows(tmp_path, capsys):
    results = write_fixed_results(tmp_path / "fixed" / "results.csv")
    assert main(["tables", str(results.parent), "--out", str(tmp_path / "out")]) == 0
    for name in ("figure3a_embedding_dim", "figure3b_alpha_base"):
        assert_is_a_real_figure(tmp_path / "out" / f"{name}.png")
