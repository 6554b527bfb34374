"""Every protocol setting is range-checked at load: bounds declared on the fields, one line each."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import typing
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.config import ProtocolConfig, load_protocol
from benchmark.config.bounds import BOUND, Bound, declared
from benchmark.config.loading import settings_reference
from benchmark.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "guide" / "protocols.md"
TABLE_BEGIN = "<!-- settings-table:begin -->\n"
TABLE_END = "<!-- settings-table:end -->"


def _fields(cls: type = ProtocolConfig, prefix: str = "") -> list[tuple[str, dataclasses.Field]]:
    """Every field of every section, nested sections included, as ``(dotted name, field)``."""
    hints = typing.get_type_hints(cls)
    found = []
    for field in dataclasses.fields(cls):
        hint = hints[field.name]
        name = f"{prefix}{field.name}"
        if dataclasses.is_dataclass(hint):
            found += [(dotted, f) for dotted, f in _fields(hint, f"{name}.")]
        elif prefix:  # a section's field, not ProtocolConfig's own (name, losses, ...)
            found.append((name, field))
    return found


SECTION_FIELDS = _fields()
BOUNDED = [(name, field) for name, field in SECTION_FIELDS if field.metadata.get(BOUND)]


def _hint(dotted: str):
    cls: type = ProtocolConfig
    *sections, key = dotted.split(".")
    for section in sections:
        cls = typing.get_type_hints(cls)[section]
    return typing.get_type_hints(cls)[key]


def test_every_section_field_declares_its_bound_or_why_it_has_none():
    assert len(SECTION_FIELDS) > 60
    undeclared = [name for name, field in SECTION_FIELDS if declared(field, _hint(name)) is None]
    assert undeclared == []
    for name, field in SECTION_FIELDS:
        bound, why = declared(field, _hint(name))
        assert bound is not None or why, f"{name}: no bound and no reason"


def _outside(bound: Bound, integer: bool) -> list[float]:
    """Values just outside ``bound`` (and NaN for a float setting)."""
    step = 1 if integer else 1e-9
    values = []
    if bound.low is not None:
        values.append(bound.low if bound.low_open else bound.low - step)
    if bound.high is not None:
        values.append(bound.high if bound.high_open else bound.high + step)
    return values if integer else [*values, math.nan, math.inf]


def _yaml(value: float) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else ".inf" if value > 0 else "-.inf"
    return str(value)


def _as_override(name: str, value: float, default) -> str:
    if isinstance(default, list | tuple):  # a list setting: one bad element among good ones
        good = default[-1] if default else 1
        text = (
            f"[{_yaml(value)}, {good}]"
            if isinstance(default, tuple)
            else f"[{good}, {_yaml(value)}]"
        )
    else:
        text = _yaml(value)
    return f"{name}={text}"


# Settings whose ends are reachable only with another setting moved out of the way.
_MAKING_ROOM = {
    "study.heartbeat_interval": ["study.grace_period=100000"],
    "study.grace_period": ["study.heartbeat_interval=1"],
}


@pytest.mark.parametrize(("name", "field"), BOUNDED, ids=[name for name, _ in BOUNDED])
def test_every_bounded_setting_refuses_a_value_just_outside_and_takes_its_ends(name, field):
    bound: Bound = field.metadata[BOUND]
    default = field.default_factory() if field.default is dataclasses.MISSING else field.default
    integer = _hint(name) in (int, int | None, list[int])
    room = _MAKING_ROOM.get(name, [])
    for value in _outside(bound, integer):
        override = _as_override(name, value, default)
        with pytest.raises(ConfigError, match=rf"^--set {re.escape(override)}: {name} must"):
            load_protocol("demo", "synthetic", [*room, override])
    ends = [(bound.low, bound.low_open), (bound.high, bound.high_open)]
    for end in [end for end, is_open in ends if end is not None and not is_open]:
        value = int(end) if integer else float(end)
        load_protocol("demo", "synthetic", [*room, _as_override(name, value, default)])


CASES = [  # the cases, through the command line
    ("training.trunk_lr=-0.1", "training.trunk_lr must be >= 0, got -0.1"),
    ("training.embedder_lr=nan", "training.embedder_lr must be a finite number >= 0"),
    ("training.trunk_lr=inf", "training.trunk_lr must be a finite number >= 0"),
    ("training.momentum=-5", "training.momentum must be in [0, 1)"),
    ("training.weight_decay=-1", "training.weight_decay must be >= 0"),
    ("training.batch_size=100000", "training.batch_size must be in [2, 65,536]"),
    ("training.eval_batch_size=0", "training.eval_batch_size must be in [1, 65,536]"),
    ("data.image_size=-5", "data.image_size must be >= 1"),
    ("model.small_cnn_width=0", "model.small_cnn_width must be >= 1"),
    ("study.sampler.seed=-1", "study.sampler.seed must be in [0, 2,147,483,647]"),
    ("data.resize=0", "data.resize must be >= 1"),
    ("data.crop_scale=[1, 0.1]", "data.crop_scale must be ascending [low, high]"),
    ("study.heartbeat_interval=0", "study.heartbeat_interval must be >= 1"),
    ("study.grace_period=-1", "study.grace_period must be >= 2"),
    ("study.max_retries=-1", "study.max_retries must be >= 0"),
    ("training.warmup_epochs=-3", "training.warmup_epochs must be >= 0"),
    ("study.pruner_warmup_folds=-3", "study.pruner_warmup_folds must be >= 0"),
    ("study.pruner_percentile=200", "study.pruner_percentile must be in [0, 100]"),
    ("study.sampler.n_startup_trials=-2", "study.sampler.n_startup_trials must be >= 0"),
    ("retrain.seed_offset=-5", "retrain.seed_offset must be in [0, 2,147,483,647]"),
    ("study.n_trials=100000000000000000000000", "study.n_trials must be in [1, 100,000]"),
    ("study.diverged_value=nan", "study.diverged_value must be a finite number in [-1, 1]"),
    ("data.synthetic_images_per_class=1", "data.synthetic_images_per_class must be >= 2"),
    ("data.synthetic_image_size=100000", "data.synthetic_image_size must be in [8, 1024]"),
]


@pytest.mark.parametrize(("override", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_an_out_of_range_setting_is_one_line_before_anything_runs(
    capsys, tmp_path, override, fragment
):
    run_dir = tmp_path / "run"
    code = main(["run", "--set", override, "--run-dir", str(run_dir)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.splitlines() == [err] and err.startswith(f"error: --set {override}: ")
    assert fragment in err
    assert not run_dir.exists()


RELATION_CASES = [
    (["study.heartbeat_interval=300", "study.grace_period=300"],
     "study.heartbeat_interval must be shorter than study.grace_period (study.heartbeat_interval "
     "= 300, study.grace_period = 300)"),
    (["study.pruner=median", "study.pruner_warmup_folds=4"],
     "study.pruner_warmup_folds must be below data.n_folds when a whole-fold study.pruner "
     "(median, percentile, wilcoxon) is on (study.pruner_warmup_folds = 4, data.n_folds = 4)"),
    (["data.transform=imagenet", "data.resize=10"],
     "data.resize must be at least data.image_size (unless data.transform is small) "
     "(data.resize = 10, data.image_size = 32): evaluation resizes the shorter side"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "fragment"), RELATION_CASES, ids=["heartbeat", "pruner", "resize"]
)
def test_settings_that_bound_each_other_are_refused_together(overrides, fragment):
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        load_protocol("demo", None, overrides)
    load_protocol("demo", None, overrides[1:])  # the second alone is within its bound


def test_the_small_transform_ignores_data_resize():
    """The synthetic images' pipeline resizes to data.image_size itself."""
    load_protocol("demo", None, ["data.transform=small", "data.resize=10"])


def test_a_pruner_that_is_off_may_wait_for_any_fold():
    load_protocol("demo", None, ["study.pruner=none", "study.pruner_warmup_folds=4"])


def test_an_out_of_range_value_in_a_protocol_file_names_the_file(tmp_path):
    protocol = tmp_path / "mine.yaml"
    protocol.write_text("name: mine\ntraining:\n  trunk_lr: -1.0e-3\n")
    with pytest.raises(ConfigError, match=rf"^{protocol}: training.trunk_lr must be >= 0"):
        load_protocol(str(protocol))


def _demo_run_json(run_dir: Path, edit) -> Path:
    config = load_protocol("demo", "synthetic")
    protocol = config.to_dict()
    edit(protocol)
    run_dir.mkdir()
    (run_dir / "run.json").write_text(json.dumps({"protocol": protocol, "storage": None}))
    return run_dir / "run.json"


def test_a_run_json_without_its_study_section_is_refused_not_read_as_the_defaults(capsys, tmp_path):
    manifest = _demo_run_json(tmp_path / "run", lambda protocol: protocol.pop("study"))
    assert main(["status", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err]
    assert f"{manifest}: its protocol lacks the section(s) study" in err


def test_a_run_json_value_out_of_range_is_refused(capsys, tmp_path):
    def edit(protocol):
        protocol["study"]["n_trials"] = -3

    manifest = _demo_run_json(tmp_path / "run", edit)
    assert main(["status", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {manifest}: study.n_trials must be in [1, 100,000], got -3 (MLRC ran " \
        "50; more than 100,000 is a typo)"  # fmt: skip


def test_the_reference_table_in_the_protocols_page_is_the_one_the_code_declares():
    text = PAGE.read_text()
    table = text.split(TABLE_BEGIN, 1)[1].split(TABLE_END, 1)[0]
    assert table == settings_reference(), (
        f"{PAGE} is out of date; regenerate its table with .venv/bin/python -c "
        "'from benchmark.config.loading import settings_reference; print(settings_reference())'"
    )
    assert "NOT DECLARED" not in table


def test_the_warmup_folds_relation_leaves_the_in_fold_pruners_alone():
    # curve_* pruners decide inside the first fold: pruner_warmup_folds does not apply to them.
    overrides = ["study.pruner=curve_halving", "study.pruner_warmup_folds=4"]
    assert load_protocol("demo", "synthetic", overrides).study.pruner_warmup_folds == 4
