"""Protocol files: every MLRC value, per-dataset overrides, --set overrides and clear errors."""

from __future__ import annotations

import pytest

from benchmark.config import available_protocols, load_protocol
from benchmark.errors import ConfigError, UnknownDatasetError


def test_mlrc_protocol_has_the_reference_values():
    config = load_protocol("mlrc", "cub")
    assert config.study.n_trials == 50
    assert config.data.n_folds == 4 and config.data.fold_scheme == "mlrc"
    assert config.training.batch_size == 32
    assert config.training.optimizer == "rmsprop"
    assert config.training.trunk_lr == config.training.embedder_lr == 1e-6
    assert (config.training.momentum, config.training.weight_decay) == (0.9, 1e-4)
    assert config.training.iterations_per_epoch == 100
    assert config.training.max_epochs == 1000
    assert config.model.embedding_size == 128 and config.model.freeze_batchnorm
    assert config.model.embedder_activation == "none"
    assert config.data.crop_scale == (0.16, 1.0) and config.data.image_size == 227
    assert config.retrain.repeats == 10 and config.retrain.confidence == 0.95


@pytest.mark.parametrize(
    ("dataset", "interval", "patience"), [("cub", 2, 9), ("cars196", 5, 14), ("sop", 20, 39)]
)
def test_mlrc_evaluation_interval_and_patience_per_dataset(dataset, interval, patience):
    training = load_protocol("mlrc", dataset).training
    assert (training.eval_every_epochs, training.patience_epochs) == (interval, patience)


def test_traditional_protocol_runs_batchnorm_with_the_authors_momentum():
    # Their BN-Inception builds BatchNorm2d(momentum=0.9): in PyTorch's convention, 0.9 is the
    # weight of the new batch. MLRC's is PyTorch's default.
    assert load_protocol("traditional", "sop").model.bn_momentum == 0.9
    assert load_protocol("mlrc", "cub").model.bn_momentum == 0.1


@pytest.mark.parametrize(
    ("dataset", "ks"),
    [
        ("cub", [1, 2, 4, 8, 16, 32]),
        ("cars196", [1, 2, 4, 8, 16, 32]),
        ("sop", [1, 10, 100, 1000]),
        ("inshop", [1, 10, 20, 30, 40, 50]),
    ],
)
def test_traditional_protocol_measures_the_authors_recall_at_k(dataset, ks):
    assert load_protocol("traditional", dataset).training.recall_at == ks


def test_every_sampler_setting_is_explicit_in_the_protocol_files():
    import yaml

    from benchmark.config import protocol_path

    for name in available_protocols():
        sampler = yaml.safe_load(protocol_path(name).read_text())["study"]["sampler"]
        assert {"seed", "n_startup_trials", "multivariate", "constant_liar", "group"} <= set(
            sampler
        )


def test_set_overrides_any_value_with_its_type():
    config = load_protocol(
        "mlrc", "cub", ["study.n_trials=8", "study.sampler.seed=3", "data.crop_scale=[0.5, 1]"]
    )
    assert config.study.n_trials == 8 and config.study.sampler.seed == 3
    assert config.data.crop_scale == (0.5, 1.0)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "study.n_trial=3",
            r"^--set study.n_trial=3: unknown key 'n_trial' in study; allowed: \[.*'n_trials'",
        ),
        (
            "study.sampler.sed=1",
            r"^--set study.sampler.sed=1: unknown key 'sed' in study.sampler; allowed: \[.*'seed'",
        ),
        ("study.n_trials=many", r"^--set study.n_trials=many: expected an integer, got 'many'"),
        ("training.optimizer=sgd", r"^--set training.optimizer=sgd: 'sgd' is not one of"),
        ("data.crop_scale=[0.5]", r"^--set data.crop_scale=\[0.5\]: expected a list of 2 values"),
        ("n_trials=8", r"must start with one of"),
        ("study.n_trials", r"expected section.key=value"),
    ],
)
def test_bad_override_blames_the_set_not_the_protocol_file(override, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_protocol("mlrc", "cub", [override])
    assert "mlrc.yaml" not in str(info.value)


def test_unknown_key_in_the_protocol_file_still_names_the_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nstudy:\n  n_trial: 3\n")
    with pytest.raises(ConfigError, match=r"mine.yaml: study: unknown key\(s\) \['n_trial'\]"):
        load_protocol(str(path), "synthetic", ["study.n_trials=4"])


def test_known_datasets_make_a_misspelt_per_dataset_entry_an_error(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\ndatasets:\n  cars:\n    training: {patience_epochs: 14}\n")
    known = ["cub", "cars196", "synthetic"]
    assert load_protocol(str(path), "cub").training.patience_epochs != 14, "entry used by cub?"
    with pytest.raises(ConfigError, match=r"mine.yaml: datasets.cars: unknown dataset 'cars'"):
        load_protocol(str(path), "cub", known_datasets=known)
    path.write_text("name: mine\ndatasets:\n  cars196:\n    training: {patience_epochs: 14}\n")
    config = load_protocol(str(path), "cars196", known_datasets=known)
    assert config.training.patience_epochs == 14
    with pytest.raises(UnknownDatasetError, match=r"unknown dataset 'sop' \(protocol .*mine.yaml"):
        load_protocol(str(path), "sop", known_datasets=known)


def test_malformed_protocol_names_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\nstudy:\n  n_trials: [1, 2\n")
    with pytest.raises(ConfigError, match=r"broken.yaml \(line \d+, column \d+\): malformed YAML"):
        load_protocol(str(path))


def test_unknown_protocol_lists_the_available_ones():
    with pytest.raises(ConfigError, match="protocol 'mlcr' not found.*mlrc"):
        load_protocol("mlcr")


def test_protocols_are_read_from_the_checkout_when_the_package_does_not_ship_them():
    from benchmark.config import PROJECT_ROOT, PROTOCOLS_DIR, shipped_data_dir

    assert PROTOCOLS_DIR == PROJECT_ROOT / "protocols" and (PROTOCOLS_DIR / "mlrc.yaml").is_file()
    assert shipped_data_dir("not_in_the_package", "protocols") == PROJECT_ROOT / "protocols"


def test_a_folder_inside_the_package_wins_over_the_checkout():
    # An installed wheel holds benchmark/protocols/; any folder inside the package stands in here.
    from benchmark.config import PROJECT_ROOT, shipped_data_dir

    assert shipped_data_dir("losses", "protocols") == PROJECT_ROOT / "benchmark" / "losses"


def test_protocol_help_lists_the_available_protocols(capsys):
    from benchmark.cli import main

    with pytest.raises(SystemExit):
        main(["run", "--help"])
    help_text = "".join(capsys.readouterr().out.split())  # argparse wraps, also at hyphens
    assert f"protocolname({','.join(available_protocols())})" in help_text
    assert {"demo", "mlrc"} <= set(available_protocols())


def test_a_set_number_in_exponent_notation_is_a_number():
    # YAML 1.1 reads "1e-6" as text (it wants "1.0e-6"); on a command line it means a number.
    config = load_protocol("demo", None, ["training.trunk_lr=1e-6", "data.root=1e3"])
    assert config.training.trunk_lr == 1e-6
    assert config.data.root == "1e3"  # a string setting keeps the text as typed
