"""Protocol files: every MLRC value, per-dataset overrides, --set overrides and clear errors."""

from __future__ import annotations

import pytest

from benchmark.config import available_protocols, load_protocol
from benchmark.errors import ConfigError


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


def test_every_sampler_setting_is_explicit_in_the_protocol_files():
    import yaml

    from benchmark.config import protocol_path

    for name in available_protocols():
        sampler = yaml.safe_load(protocol_path(name).read_text())["study"]["sampler"]
        assert {"seed", "n_startup_trials", "multivariate", "constant_liar", "group"} <= set(sampler)


def test_set_overrides_any_value_with_its_type():
    config = load_protocol("mlrc", "cub", ["study.n_trials=8", "study.sampler.seed=3", "data.crop_scale=[0.5, 1]"])
    assert config.study.n_trials == 8 and config.study.sampler.seed == 3
    assert config.data.crop_scale == (0.5, 1.0)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("study.n_trails=8", r"study: unknown key\(s\) \['n_trails'\]"),
        ("study.n_trials=many", r"study.n_trials: expected an integer"),
        ("training.optimizer=sgd", r"training.optimizer: 'sgd' is not one of"),
        ("n_trials=8", r"must start with one of"),
        ("study.n_trials", r"expected section.key=value"),
    ],
)
def test_bad_override_is_one_clear_error(override, message):
    with pytest.raises(ConfigError, match=message):
        load_protocol("mlrc", "cub", [override])


def test_malformed_protocol_names_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\nstudy:\n  n_trials: [1, 2\n")
    with pytest.raises(ConfigError, match=r"broken.yaml \(line \d+, column \d+\): malformed YAML"):
        load_protocol(str(path))


def test_unknown_protocol_lists_the_available_ones():
    with pytest.raises(ConfigError, match="protocol 'mlcr' not found.*mlrc"):
        load_protocol("mlcr")
