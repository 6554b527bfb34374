"""Cluster profiles: the example documents every field; bad values stop with the file and key."""

from __future__ import annotations

import dataclasses
import json
import re
import textwrap

import pytest

from benchmark.cluster.cluster_profile import (
    ClusterProfile,
    StageOverrides,
    load_cluster_profile,
    time_limit_seconds,
)
from benchmark.config import PROJECT_ROOT
from benchmark.errors import ConfigError

EXAMPLE = PROJECT_ROOT / "slurm" / "profiles" / "example.yaml"


def _profile(tmp_path, text: str) -> ClusterProfile:
    path = tmp_path / "cluster.yaml"
    path.write_text(textwrap.dedent(text))
    return load_cluster_profile(path)


def _refused(tmp_path, text: str) -> str:
    with pytest.raises(ConfigError) as error:
        _profile(tmp_path, text)
    message = str(error.value)
    assert str(tmp_path / "cluster.yaml") in message, "the error must name the profile file"
    assert "\n" not in message, "one line"
    return message


def test_example_profile_loads_and_documents_every_field():
    profile = load_cluster_profile(EXAMPLE)
    assert profile.partition == "gpu" and profile.workers_per_gpu == 2
    text = EXAMPLE.read_text()
    keys = set(re.findall(r"^#? ?(\w+):", text, re.MULTILINE))
    fields = {f.name for f in dataclasses.fields(ClusterProfile)} - {"source"}
    assert fields <= keys, f"undocumented in {EXAMPLE}: {sorted(fields - keys)}"
    stage_fields = {f.name for f in dataclasses.fields(StageOverrides)}
    stage_comment = text[text.index("stages:") : text.index("study:")]
    assert all(name in stage_comment for name in stage_fields)


def test_an_empty_profile_takes_the_documented_defaults(tmp_path):
    profile = _profile(tmp_path, "")
    assert (profile.gpus, profile.gpu_request, profile.cpus_per_task) == (1, "gres", 4)
    assert (profile.time, profile.signal_seconds, profile.mlrc) == ("24:00:00", 120, ["mlrc"])
    assert (profile.max_workers, profile.workers_per_gpu, profile.array_throttle) == (8, 1, None)
    assert profile.max_requeues == 3  # like submitit


def test_names_slurm_takes_are_accepted(tmp_path):
    profile = _profile(
        tmp_path,
        """
        partition: gpu-a100,gpu_h100
        account: lab.ml-2
        qos: high+
        gpu_type: a100_80gb
        mem: 1500M
        extra_sbatch: ['--constraint=a100|h100&ib', '--comment=free text, with spaces']
        """,
    )
    assert profile.partition == "gpu-a100,gpu_h100" and profile.gpu_type == "a100_80gb"


def test_stage_overrides_and_the_light_tables_job(tmp_path):
    profile = _profile(
        tmp_path,
        """
        partition: gpu
        gpus: 1
        gpu_type: a100
        cpus_per_task: 8
        time: "24:00:00"
        extra_sbatch: [--constraint=a100]
        stages:
          retrain: {time: "02:00:00", mem: 16G}
          tables: {partition: cpu, extra_sbatch: []}
        """,
    )
    study, retrain, tables = (profile.resources(s) for s in ("study", "retrain", "tables"))
    assert (study.time, study.gpus, study.cpus_per_task, study.mem) == ("24:00:00", 1, 8, None)
    assert (retrain.time, retrain.mem, retrain.partition) == ("02:00:00", "16G", "gpu")
    assert ("--gres", "gpu:a100:1") in study.sbatch_options()
    assert study.extra_sbatch == ("--constraint=a100",)
    assert (tables.gpus, tables.cpus_per_task, tables.time, tables.partition) == (
        0,
        1,
        "01:00:00",
        "cpu",
    )
    assert tables.extra_sbatch == ()
    assert not any(option in ("--gres", "--gpus") for option, _ in tables.sbatch_options())


def test_gpus_request_form(tmp_path):
    profile = _profile(tmp_path, "gpu_request: gpus\ngpu_type: h100\n")
    assert ("--gpus", "h100:1") in profile.resources("study").sbatch_options()
    assert ("--gpus", "1") in _profile(tmp_path, "gpu_request: gpus\n").resources(
        "study"
    ).sbatch_options()


def test_env_values_are_shell_text(tmp_path):
    profile = _profile(tmp_path, "env: {N: 8, FLAG: true, RATE: 0.5, NAME: x}\n")
    assert profile.env == {"N": "8", "FLAG": "true", "RATE": "0.5", "NAME": "x"}
    assert "env.LIST: expected a string" in _refused(tmp_path, "env: {LIST: [1, 2]}\n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("partitoin: gpu\n", "unknown key 'partitoin'"),
        ("gpus: two\n", "gpus: expected an integer"),
        ("modules: cuda/12.1\n", "modules: expected a list"),
        ("env: [A, B]\n", "env: expected a mapping"),
        ("gpu_request: gres:a100\n", "gpu_request: 'gres:a100' is not one of gres, gpus"),
        ("time: 24:00:00\n", "time: write the time limit as a quoted string"),
        ("time: '25 hours'\n", "is not a Slurm time limit"),
        ("time: '00:01:00'\n", "leaves 0 s of work before the time-limit signal"),
        # would requeue itself forever: 1 s of work per attempt
        ("time: '00:02:01'\nsignal_seconds: 120\n", "at least signal_seconds + 5 minutes"),
        ("stages: {tables: {time: '00:06:59'}}\n", "stages.tables.time: 00:06:59 leaves 299 s"),
        ("max_requeues: -1\n", "max_requeues: must be at least 0"),
        ("mem: '0'\n", "0 asks Slurm for all the memory of a node"),
        ("stages: {retrain: {mem: 0G}}\n", "stages.retrain.mem: 0 asks Slurm for all"),
        ("gpu_type: 'a100 --x'\n", "gpu_type: 'a100 --x' is not a Slurm name"),
        ("account: \"lab;$(id)\"\n", "account: 'lab;$(id)' is not a Slurm name"),
        ("stages: {tables: {partition: 'cpu x'}}\n", "stages.tables.partition: 'cpu x' is not"),
        ("extra_sbatch: [\"--constraint='a100'\"]\n", "takes no quotes or backslashes"),
        ("extra_sbatch: ['--constraint=a\\\\']\n", "takes no quotes or backslashes"),
        ("extra_sbatch: ['--constraint=a b']\n", "spaces only in free text (--comment)"),
        ("mem: 32 GB\n", "mem: '32 GB' is not a Slurm memory size"),
        ("gpus: 2\n", "use 0 (CPU jobs) or 1"),
        ("workers_per_gpu: 0\n", "workers_per_gpu: must be at least 1"),
        ("stages: {train: {time: '01:00:00'}}\n", "unknown stage 'train'"),
        ("stages: {retrain: {tim: '01:00:00'}}\n", "stages.retrain: unknown key 'tim'"),
        ("stages: {retrain: {gpus: 4}}\n", "stages.retrain.gpus"),
        ("extra_sbatch: ['-C a100']\n", "is not a long sbatch option"),
        ("extra_sbatch: ['--constraint a100; rm -rf ~']\n", "is not a long sbatch option"),
        ("extra_sbatch: ['--time=1:00:00']\n", "--time is set by mlrc: use the field time"),
        ("extra_sbatch: ['--array=0-3']\n", "--array is set by mlrc"),
        ('partition: "gpu\\n#SBATCH --account=theirs"\n', "partition: 'gpu\\n#SBATCH --account=theirs' is not a Slurm name"),
        ('extra_sbatch: ["--comment=a\\nb"]\n', "holds a line break"),
        ('env: {"BAD-NAME": 1}\n', "env: 'BAD-NAME' is not a valid environment variable name"),
        ("venv: /a\nconda_env: b\n", "either venv or conda_env"),
        ("mlrc: []\n", "mlrc: [] must name the command"),
        ('mlrc: ""\n', "mlrc: [''] must name the command, without empty words"),
        ('mlrc: [python, " ", benchmark.cli]\n', "without empty words"),
        ('mem: "64G\\n"\n', "mem: '64G\\n' is not a Slurm memory size"),
        ('stages: {tables: {mem: "4G\\n"}}\n', "stages.tables.mem: '4G\\n' is not a Slurm"),
        ('partition: "gpu\\n"\n', "partition: 'gpu\\n' is not a Slurm name"),
        ('qos: "normal\\n"\n', "qos: 'normal\\n' is not a Slurm name"),
        ('env: {"HOME\\n": x}\n', "env: 'HOME\\n' is not a valid environment variable name"),
    ],
)  # fmt: skip
def test_bad_values_are_refused_naming_the_key(tmp_path, text, expected):
    assert expected in _refused(tmp_path, text)


@pytest.mark.parametrize("key", ["partition", "account", "qos", "gpu_type"])
def test_a_value_that_would_become_a_second_sbatch_option_is_refused(tmp_path, key):
    # Slurm's #SBATCH reader takes a backslash as an escape even inside quotes: this value
    # quoted for a shell ends the quote early and adds --output to the line.
    value = "gpu\\'\" --output=x.out \\"
    message = _refused(tmp_path, f"{key}: {json.dumps(value)}\n")
    assert f"{key}: {value!r} is not a Slurm name" in message


def test_malformed_yaml_names_the_file_and_line(tmp_path):
    message = _refused(tmp_path, "partition: [gpu\n")
    assert "malformed YAML" in message and "line" in message


def test_missing_profile_says_file_not_found(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: file not found"):
        load_cluster_profile(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90 * 60),
        ("90:30", 90 * 60 + 30),
        ("12:00:00", 12 * 3600),
        ("1:02:03", 3600 + 2 * 60 + 3),
        ("2-00", 2 * 86400),
        ("2-12", 2 * 86400 + 12 * 3600),
        ("1-02:03", 86400 + 2 * 3600 + 3 * 60),
        ("1-02:03:04", 86400 + 2 * 3600 + 3 * 60 + 4),
    ],
)
def test_time_limits_in_every_slurm_format(text, seconds):
    assert time_limit_seconds(text) == seconds
