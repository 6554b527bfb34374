"""``mlrc tables --html DIR``: the results page of a real demo-sized run, of the committed
example (no study data there), of a comparison, and what it says when parts are missing.

The page's numbers are read back from its HTML and compared with the Markdown files of the
same command, and with the run's storage and files read here independently.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from page_parsing import html_tables, markdown_tables, plain_tables
from run_helpers import load_study
from test_cli_tables import assert_is_a_real_figure, make_run_dir

from benchmark.cli import main
from benchmark.report.labels import setting_symbol
from benchmark.store import trial_attrs

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "results" / "example"
STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed"}


# -- a real demo-sized run ------------------------------------------------------------------


def test_the_page_tables_are_the_markdown_tables_of_the_same_command(demo_page):
    markdown_files = sorted(demo_page.out.glob("*.md"))
    assert [p.stem for p in markdown_files] == [
        "table1",
        "table_full_synthetic",
        "table_mlrc_synthetic",
    ]
    for path in markdown_files:
        assert html_tables(demo_page.html, scope=f"doc-{path.stem}") == markdown_tables(path)
    assert f"results page: {demo_page.site / 'index.html'}" in demo_page.printed


@pytest.mark.parametrize("loss", ["contrastive", "mfcwms"])
def test_the_page_lists_every_trial_with_its_parameters_and_folds(demo_page, loss):
    trials = load_study(demo_page.run_dir, loss).get_trials(deepcopy=False)
    (headers, rows) = plain_tables(demo_page.html, f"run-1-study-{loss}")[0]
    assert len(rows) == len(trials) == 4
    for trial, row in zip(trials, rows, strict=True):
        shown = dict(zip(headers, row, strict=True))
        assert shown["trial"] == str(trial.number)
        assert shown["state"] == STATES[trial.state.name]
        for name, value in trial.params.items():
            assert shown[setting_symbol(name)] == f"{value:.4g}"
        folds = trial_attrs.fold_records(trial.user_attrs)
        for fold in range(4):
            expected = f"{100 * folds[fold]['val_map_at_r']:.2f}" if fold in folds else "—"
            assert shown[f"fold {fold}"] == expected
        if trial.state.name == "COMPLETE":
            assert shown["mean val. MAP@R (%)"] == f"{100 * trial.value:.2f}"
            assert shown["note"] == ""
        else:
            assert shown["mean val. MAP@R (%)"] == "—"
            assert shown["note"] == f"pruned after {len(folds)} of 4 folds"


def test_each_study_has_its_optimisation_history_plot(demo_page):
    for loss in ("contrastive", "mfcwms"):
        plot = demo_page.site / "studies" / f"history_run-1_{loss}.png"
        assert_is_a_real_figure(plot)
        assert f'src="studies/{plot.name}"' in demo_page.html


def test_the_cost_is_the_recorded_wall_time_of_every_fold_training(demo_page):
    """Device-hours summed here from the trials' fold records and the retrained folds'
    result.json files, as `mlrc status` counts them."""
    seconds = [
        record[trial_attrs.FOLD_WALL_TIME_S]
        for loss in ("contrastive", "mfcwms")
        for trial in load_study(demo_page.run_dir, loss).get_trials(deepcopy=False)
        for record in trial_attrs.fold_records(trial.user_attrs).values()
    ]
    retrained = sorted(demo_page.run_dir.glob("retrain/*/repeat_*/fold_*/result.json"))
    seconds += [json.loads(path.read_text())["wall_time_s"] for path in retrained]
    (headers, rows) = plain_tables(demo_page.html, "run-1-cost")[0]
    total = dict(zip(headers, rows[-1], strict=True))
    assert total["Loss"] == "total"
    assert total["trainings done"] == str(len(seconds))
    assert total["device-hours spent"] == f"{sum(seconds) / 3600:.3g}"
    assert [row[1] for row in rows[:-1]] == ["study", "retrain"] * 2


def test_the_settings_are_the_run_json_of_the_run(demo_page):
    manifest = json.loads((demo_page.run_dir / "run.json").read_text())
    (settings,) = [
        line for line in demo_page.html.splitlines() if "<caption>study</caption>" in line
    ]
    assert '<th scope="row">n_trials</th><td><code>4</code>' in settings
    assert '<th scope="row">pruner</th><td><code>median</code>' in settings
    assert f"<code>{manifest['code_version']}</code>" in demo_page.html
    assert "optuna.journal in the run directory" in demo_page.html


def test_the_figures_of_mlrc_tables_are_copied_into_the_site(demo_page):
    for name in ("curves_demo_synthetic.png", "optuna_history_demo_synthetic.png"):
        copy = demo_page.site / "figures" / name
        assert copy.read_bytes() == (demo_page.out / name).read_bytes()
        assert f'<img src="figures/{name}"' in demo_page.html
    for suffix in ("md", "tex", "csv"):
        assert (demo_page.site / "tables" / f"table1.{suffix}").is_file()
        assert f'href="tables/table1.{suffix}"' in demo_page.html


# -- the committed example, and what is missing -----------------------------------------------


def _tables(args: list[str], capsys) -> str:
    assert main(["tables", *args]) == 0
    return capsys.readouterr().out


def test_without_html_mlrc_tables_writes_and_prints_what_it_did_before(tmp_path, capsys):
    plain = _tables([str(EXAMPLE), "--out", str(tmp_path / "plain")], capsys)
    with_page = _tables(
        [str(EXAMPLE), "--out", str(tmp_path / "page"), "--html", str(tmp_path / "site")], capsys
    )
    assert "results page" not in plain
    page_line = f"results page: {tmp_path / 'site' / 'index.html'}"
    assert with_page.replace(str(tmp_path / "page"), str(tmp_path / "plain")) == (
        plain.rstrip("\n") + f"\n{page_line}\n"
    )
    for path in sorted((tmp_path / "plain").iterdir()):
        assert path.read_bytes() == (tmp_path / "page" / path.name).read_bytes()
    assert sorted(p.name for p in (tmp_path / "plain").iterdir()) == sorted(
        p.name for p in (tmp_path / "page").iterdir()
    )


def test_the_example_page_says_there_is_no_study_data_and_shows_its_figures(tmp_path, capsys):
    _tables(
        [str(EXAMPLE), "--out", str(tmp_path / "out"), "--html", str(tmp_path / "site")], capsys
    )
    html = (tmp_path / "site" / "index.html").read_text()
    assert "no study data in this folder" in html
    assert "no run.json in this folder: the protocol settings and the code version are" in html
    assert "no run.json in this folder: what the run cost is unknown" in html
    for name in ("curves_demo_synthetic.png", "optuna_history_demo_synthetic.png"):
        copy = tmp_path / "site" / "figures" / f"example_{name}"
        assert copy.read_bytes() == (EXAMPLE / name).read_bytes()
        assert f"as found in {EXAMPLE}" in html
    assert html_tables(html, "doc-table1") == markdown_tables(EXAMPLE / "table1.md")
    assert not list(EXAMPLE.glob("*.journal"))  # reading created nothing there


def test_a_comparison_shows_each_run_and_its_studies(tmp_path, capsys):
    cub = make_run_dir(tmp_path / "cub", "cub", curves=False)
    cars = make_run_dir(tmp_path / "cars", "cars196", curves=False, losses=("mfcwms",))
    site = tmp_path / "site"
    _tables([str(cub), str(cars), "--out", str(tmp_path / "out"), "--html", str(site)], capsys)
    html = (site / "index.html").read_text()
    assert "<h1>Results: a comparison of 2 runs</h1>" in html
    assert '<a href="#run-1">Run cub · demo protocol on CUB</a>' in html
    assert '<a href="#run-2">Run cars · demo protocol on Cars196</a>' in html
    assert len(plain_tables(html, "run-1-study-contrastive")[0][1]) == 6
    assert len(plain_tables(html, "run-2-study-mfcwms")[0][1]) == 6
    assert 'id="run-2-study-contrastive"' not in html
    assert (site / "studies" / "history_run-2_mfcwms.png").is_file()
    assert html_tables(html, "doc-table1") == markdown_tables(tmp_path / "out" / "table1.md")


def test_an_unreachable_storage_leaves_the_rest_of_the_page(tmp_path, capsys):
    run = make_run_dir(tmp_path / "run", curves=False, journal=False)
    manifest = json.loads((run / "run.json").read_text())
    manifest["storage"] = "postgresql://nobody@127.0.0.1:1/none"
    (run / "run.json").write_text(json.dumps(manifest))
    site = tmp_path / "site"
    _tables([str(run), "--out", str(tmp_path / "out"), "--html", str(site)], capsys)
    html = (site / "index.html").read_text()
    assert "cost unknown: the study data cannot be read: cannot open storage" in html
    assert html_tables(html, "doc-table1") == markdown_tables(tmp_path / "out" / "table1.md")


def test_no_figures_draws_none_and_says_so(tmp_path, capsys):
    run = make_run_dir(tmp_path / "run", curves=False)
    site = tmp_path / "site"
    args = [str(run), "--out", str(tmp_path / "out"), "--html", str(site), "--no-figures"]
    _tables(args, capsys)
    html = (site / "index.html").read_text()
    assert "figures not drawn (--no-figures)" in html
    assert "optimisation history not drawn (--no-figures)" in html
    assert "<img" not in html and not (site / "studies").exists()
    assert len(plain_tables(html, "run-1-study-mfcwms")[0][1]) == 6  # the trials are listed


def test_an_html_path_that_is_a_file_is_one_error_line(tmp_path, capsys):
    run = make_run_dir(tmp_path / "run", curves=False, journal=False)
    (tmp_path / "page").write_text("")
    args = ["tables", str(run), "--out", str(tmp_path / "out"), "--html", str(tmp_path / "page")]
    assert main(args) == 2
    error = capsys.readouterr().err
    assert (
        error
        == f"error: --html {tmp_path / 'page'} is a file; give a folder for the results page\n"
    )


def test_the_site_is_self_contained_when_moved(tmp_path, capsys):
    run = make_run_dir(tmp_path / "run")
    site = tmp_path / "site"
    _tables([str(run), "--out", str(tmp_path / "out"), "--html", str(site)], capsys)
    moved = shutil.move(site, tmp_path / "elsewhere" / "site")
    shutil.rmtree(tmp_path / "out")
    html = (Path(moved) / "index.html").read_text()
    for reference in ("src", "href"):
        for target in html.split(f'{reference}="')[1:]:
            target = target.split('"', 1)[0]
            if target.startswith(("#", "data:")):
                continue
            assert "://" not in target and not target.startswith("/"), target
            assert (Path(moved) / target).is_file(), target
