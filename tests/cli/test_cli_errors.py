"""Bad input stops with one clear line naming the problem and the fix (exit code 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.cli import main


def run_cli(capsys, args):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.err.strip()


def assert_one_line_error(code, err, *fragments):
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith("error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


def test_unknown_loss(capsys, tmp_path):
    code, err = run_cli(
        capsys, ["run", "--losses", "contrastive,mfcmws", "--run-dir", str(tmp_path)]
    )
    assert_one_line_error(code, err, "unknown loss 'mfcmws'", "mfcwms", "--plugin")


def test_unknown_dataset(capsys, tmp_path):
    code, err = run_cli(capsys, ["run", "--dataset", "imagenet", "--run-dir", str(tmp_path)])
    assert_one_line_error(code, err, "imagenet", "cub")


def test_a_protocol_entry_for_an_unregistered_dataset(capsys, tmp_path):
    protocol = tmp_path / "mine.yaml"
    protocol.write_text("name: mine\ndatasets:\n  cars:\n    training: {patience_epochs: 14}\n")
    code, err = run_cli(capsys, ["run", "--protocol", str(protocol), "--run-dir", str(tmp_path)])
    assert_one_line_error(code, err, str(protocol), "datasets.cars", "unknown dataset", "cars196")


def test_missing_dataset_root(capsys, tmp_path):
    missing = tmp_path / "nowhere" / "CUB_200_2011"
    code, err = run_cli(
        capsys,
        [
            "run",
            "--protocol",
            "mlrc",
            "--dataset",
            "cub",
            "--root",
            str(missing),
            "--run-dir",
            str(tmp_path / "r"),
        ],
    )
    assert_one_line_error(code, err, str(missing))


def test_malformed_protocol_yaml(capsys, tmp_path):
    protocol = tmp_path / "mine.yaml"
    protocol.write_text("name: mine\ntraining:\n  batch_size: 32\n   lr: 1\n")
    code, err = run_cli(capsys, ["run", "--protocol", str(protocol), "--run-dir", str(tmp_path)])
    assert_one_line_error(code, err, str(protocol), "malformed YAML", "line")


def test_malformed_search_space_yaml(capsys, tmp_path):
    (tmp_path / "broken_space.yaml").write_text("params:\n  scale: {low: 1, high: [2\n")
    plugin = tmp_path / "broken_loss.py"
    plugin.write_text(
        "from pytorch_metric_learning.losses import NormalizedSoftmaxLoss\n"
        "from benchmark.losses import register_loss\n\n"
        "@register_loss('broken', display='Broken', kind='classification', has_parameters=True,\n"
        "               search_space='broken_space.yaml')\n"
        "def build(num_classes, embedding_size, scale=1.0):\n"
        "    return NormalizedSoftmaxLoss(num_classes, embedding_size)\n"
    )
    code, err = run_cli(
        capsys,
        ["--plugin", str(plugin), "run", "--losses", "broken", "--run-dir", str(tmp_path / "r")],
    )
    assert_one_line_error(code, err, "broken_space.yaml", "malformed YAML")


@pytest.mark.parametrize(
    "url",
    ["sqlite:////nonexistent-directory/study.db", "postgresql://nobody:secret@127.0.0.1:1/mlrc"],
)
def test_unreachable_storage_url(capsys, tmp_path, url):
    code, err = run_cli(capsys, ["run", "--storage", url, "--run-dir", str(tmp_path)])
    assert_one_line_error(code, err, url.split("://")[0])


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["profile", "losses", "--batch-sizes", "32,abc"], ["--batch-sizes '32,abc'", "integers"]),
        (["run", "--set", "study.n_trial=3"], ["--set study.n_trial=3", "unknown key 'n_trial'"]),
        (["run", "--storage", "postgres://me:secret@db/mlrc"], ["postgres://", "postgresql://"]),
        (
            ["ablate", "mf-reg", "--protocol", "traditional-demo", "--values", "0,abc"],
            ["'abc' is not a number"],
        ),
        (
            ["ablate", "mf-reg", "--protocol", "traditional-demo", "--point", "9"],
            ["--point 9", "0..5"],
        ),
        (
            ["run", "--protocol", "traditional-demo", "--losses", "cwms"],
            ["no default hyperparameters", "cwms", "--search"],
        ),
    ],
)
def test_small_mistakes_are_one_line_naming_the_option(capsys, tmp_path, args, fragments):
    code, err = run_cli(
        capsys, [*args, "--run-dir", str(tmp_path / "r")] if args[0] != "profile" else args
    )
    assert_one_line_error(code, err, *fragments)
    assert "secret" not in err
    assert not (tmp_path / "r").exists()


EXAMPLE_PROFILE = "slurm/profiles/example.yaml"


def _dry_run(tmp_path, *args):
    return ["slurm", "submit", "--profile", EXAMPLE_PROFILE, "--run-dir", str(tmp_path / "run"),
            *args, "--dry-run"]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--losses", ","], ["--losses ','", "names no loss"]),
        (["--values", "1,2"], ["--values", "--ablate"]),
        (["--losses", "../../x"], ["unknown loss '../../x'"]),
    ],
)
def test_slurm_submit_arguments_that_would_do_something_else_are_refused(
    capsys, tmp_path, monkeypatch, args, fragments
):
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    code, err = run_cli(capsys, _dry_run(tmp_path, *args))
    assert_one_line_error(code, err, *fragments)
    assert not (tmp_path / "run").exists()


def test_scripts_dir_and_tables_out_that_are_files_are_refused(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    code, err = run_cli(capsys, _dry_run(tmp_path, "--scripts-dir", str(a_file)))
    assert_one_line_error(code, err, f"--scripts-dir {a_file} is a file")
    code, err = run_cli(capsys, ["tables", "results/example", "--out", str(a_file)])
    assert_one_line_error(code, err, f"--out {a_file} is a file")


def test_a_loss_name_that_is_not_an_identifier_is_refused_at_registration(capsys, tmp_path):
    plugin = tmp_path / "spaced.py"
    plugin.write_text(
        "from benchmark.losses import register_loss\n"
        "from pytorch_metric_learning.losses import ContrastiveLoss\n"
        "register_loss('sp ace', display='S', kind='pair')(lambda n, e, **hp: ContrastiveLoss())\n"
    )
    code, err = run_cli(capsys, ["--plugin", str(plugin), "losses"])
    assert_one_line_error(code, err, "loss name 'sp ace' is not an identifier", "'sp_ace'")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["run", "--set", "data.num_workers=-1"], ["data.num_workers must be >= 0"]),
        (["profile", "losses", "--batch-sizes", "0"], ["--batch-sizes '0'", "at least 2"]),
    ],
)
def test_values_that_crashed_deep_inside_are_one_line(capsys, tmp_path, args, fragments):
    code, err = run_cli(
        capsys, [*args, *(["--run-dir", str(tmp_path)] if args[0] == "run" else [])]
    )
    assert_one_line_error(code, err, *fragments)


@pytest.mark.parametrize("manifest", ['{"protocol": 3}', "{}", '{"protocol": {"name": "x"}}'])
def test_a_run_json_of_the_wrong_shape_is_one_line(capsys, tmp_path, manifest):
    (tmp_path / "run.json").write_text(manifest)
    for args in (["slurm", "status", str(tmp_path)], ["worker", "--run-dir", str(tmp_path),
                 "--loss", "contrastive"]):  # fmt: skip
        code, err = run_cli(capsys, args)
        assert_one_line_error(code, err, str(tmp_path / "run.json"))
