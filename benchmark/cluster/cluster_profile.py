"""Cluster profiles: where and how the jobs of a sweep run (``slurm/profiles/<name>.yaml``).

A profile is data, never shell: environment modules, a venv or conda environment, variables and
extra sbatch options are structured fields, validated here and quoted when a script is rendered.
``slurm/profiles/example.yaml`` documents every field.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from benchmark.cluster.job import Resources
from benchmark.config import coerce_value, read_yaml
from benchmark.errors import ConfigError

STAGES = ("cache", "study", "retrain", "tables")

MIN_USEFUL_SECONDS = 300
"""A job's time limit must leave it this much work before the time-limit signal: a shorter one
would requeue itself again and again without finishing anything."""

_MEMORY = re.compile(r"^\d+[KMGT]?$")
_SBATCH_OPTION = re.compile(r"^--[a-z][a-z0-9-]*(=.*)?$", re.DOTALL)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# What Slurm accepts as a partition (a comma-separated list), account, QOS or GPU type name.
_SLURM_NAME = r"[A-Za-z0-9_.+-]+"
_NAME_SYNTAX = {
    "partition": re.compile(rf"^{_SLURM_NAME}(,{_SLURM_NAME})*$"),
    "account": re.compile(rf"^{_SLURM_NAME}$"),
    "qos": re.compile(rf"^{_SLURM_NAME}$"),
    "gpu_type": re.compile(rf"^{_SLURM_NAME}$"),
}
# sbatch options whose value is free text, where a space is expected.
_TEXT_OPTIONS = {"--comment"}

# Options every job script sets itself from the profile's fields or the sweep.
_MANAGED_OPTIONS = {
    "--job-name": "it is made from the run directory and the stage",
    "--array": "it is sized from the trial budget, max_workers and array_throttle",
    "--dependency": "the stages depend on each other automatically",
    "--output": "logs go to <run_dir>/slurm/logs/",
    "--error": "logs go to <run_dir>/slurm/logs/",
    "--open-mode": "logs are appended to across requeues",
    "--requeue": "every job is requeueable",
    "--no-requeue": "requeueing is how jobs survive preemption and time limits",
    "--signal": "use the field signal_seconds",
    "--partition": "use the field partition",
    "--account": "use the field account",
    "--qos": "use the field qos",
    "--time": "use the field time (or stages.<stage>.time)",
    "--cpus-per-task": "use the field cpus_per_task",
    "--mem": "use the field mem",
    "--gres": "use the fields gpus, gpu_type and gpu_request",
    "--gpus": "use the fields gpus, gpu_type and gpu_request",
}

# The tables job only reads results.csv: no GPU, one CPU, a short limit (unless overridden).
_TABLES_DEFAULTS = {"gpus": 0, "cpus_per_task": 1, "time": "01:00:00"}
# The image-cache job decodes on the CPU cores of the profile: no GPU (unless overridden).
_CACHE_DEFAULTS = {"gpus": 0, "time": "04:00:00"}


@dataclass(frozen=True)
class StageOverrides:
    """``stages.<stage>``: resources of one stage that differ from the profile's defaults."""

    partition: str | None = None
    time: str | None = None
    cpus_per_task: int | None = None
    mem: str | None = None
    gpus: int | None = None
    extra_sbatch: list[str] | None = None
    """Replaces the profile's extra_sbatch for this stage (``[]`` drops them)."""


@dataclass(frozen=True)
class ClusterProfile:
    """A validated cluster profile. Build it with :func:`load_cluster_profile`."""

    source: Path
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    gpus: int = 1
    gpu_request: Literal["gres", "gpus"] = "gres"
    gpu_type: str | None = None
    cpus_per_task: int = 4
    mem: str | None = None
    time: str = "24:00:00"
    stages: dict[str, StageOverrides] = field(default_factory=dict)
    array_throttle: int | None = None
    max_workers: int = 8
    workers_per_gpu: int = 1
    modules: list[str] = field(default_factory=list)
    venv: str | None = None
    conda_env: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    extra_sbatch: list[str] = field(default_factory=list)
    storage: str | None = None
    signal_seconds: int = 120
    max_requeues: int = 3
    """Requeues in a row, after the time-limit signal, of an attempt that finished nothing."""
    mlrc: list[str] = field(default_factory=lambda: ["mlrc"])

    def resources(self, stage: str) -> Resources:
        """The resources of ``stage``'s jobs: the profile's values, then ``stages.<stage>``."""
        values: dict[str, Any] = {
            "partition": self.partition,
            "time": self.time,
            "cpus_per_task": self.cpus_per_task,
            "mem": self.mem,
            "gpus": self.gpus,
            "extra_sbatch": self.extra_sbatch,
        }
        if stage == "tables":
            values.update(_TABLES_DEFAULTS)
        elif stage == "cache":
            values.update(_CACHE_DEFAULTS)
        overrides = self.stages.get(stage, StageOverrides())
        values.update({k: v for k, v in dataclasses.asdict(overrides).items() if v is not None})
        values["extra_sbatch"] = tuple(values["extra_sbatch"])
        return Resources(
            account=self.account,
            qos=self.qos,
            gpu_type=self.gpu_type,
            gpu_request=self.gpu_request,
            **values,
        )


def load_cluster_profile(path: str | Path) -> ClusterProfile:
    """Read and validate a profile; every problem is one ConfigError naming the file and key."""
    path = Path(path).expanduser()
    raw = read_yaml(path)
    hints = typing.get_type_hints(ClusterProfile)
    allowed = [f.name for f in dataclasses.fields(ClusterProfile) if f.name != "source"]
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in allowed:
            raise ConfigError(
                f"{path}: unknown key '{key}'; allowed keys: {', '.join(allowed)} "
                "(slurm/profiles/example.yaml documents each)"
            )
        if key == "mlrc" and isinstance(value, str):
            value = [value]
        if key == "env" and isinstance(value, dict):
            value = {name: _shell_text(item) for name, item in value.items()}
        if key == "time":
            _require_quoted_time(value, f"{path}: time")
        if key == "stages":
            values[key] = _stages(path, value)
        elif value is not None or _optional(hints[key]):
            values[key] = coerce_value(value, hints[key], f"{path}: {key}")
    profile = ClusterProfile(source=path, **values)
    _check_values(profile)
    return profile


def _stages(path: Path, value: Any) -> dict[str, StageOverrides]:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: stages: expected a mapping of {', '.join(STAGES)} to settings")
    stages = {}
    hints = typing.get_type_hints(StageOverrides)
    for stage, settings in value.items():
        if stage not in STAGES:
            raise ConfigError(
                f"{path}: stages: unknown stage '{stage}'; stages: {', '.join(STAGES)}"
            )
        if not isinstance(settings, dict):
            raise ConfigError(
                f"{path}: stages.{stage}: expected a mapping, e.g. {{time: '04:00:00'}}"
            )
        stages[stage] = StageOverrides(**_stage_settings(path, stage, settings, hints))
    return stages


def _stage_settings(
    path: Path, stage: str, settings: dict[str, Any], hints: dict[str, Any]
) -> dict[str, Any]:
    """``stages.<stage>``'s settings, each checked against its type."""
    checked = {}
    for key, item in settings.items():
        if key not in hints:
            raise ConfigError(
                f"{path}: stages.{stage}: unknown key '{key}'; allowed: {', '.join(hints)}"
            )
        if key == "time":
            _require_quoted_time(item, f"{path}: stages.{stage}.time")
        checked[key] = coerce_value(item, hints[key], f"{path}: stages.{stage}.{key}")
    return checked


def _require_quoted_time(value: Any, where: str) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ConfigError(
            f"{where}: write the time limit as a quoted string, e.g. '24:00:00' "
            f"(YAML reads an unquoted 24:00:00 as the number {value!r})"
        )


def _optional(hint: Any) -> bool:
    return type(None) in typing.get_args(hint)


def _shell_text(value: Any) -> Any:
    """An env value as the shell sees it: YAML's ``true`` becomes ``"true"``, not ``"True"``;
    numbers become text in :func:`coerce_value`, anything else is refused there."""
    return str(value).lower() if isinstance(value, bool) else value


def time_limit_seconds(text: str) -> int:
    """Seconds of a Slurm time limit: ``minutes``, ``minutes:seconds``,
    ``hours:minutes:seconds``, ``days-hours``, ``days-hours:minutes`` or
    ``days-hours:minutes:seconds``. Raises ValueError for anything else."""
    days, has_days, clock = text.partition("-") if "-" in text else ("0", "", text)
    fields = [days, *clock.split(":")]
    if not all(f.isdigit() for f in fields) or len(fields) > 4:
        raise ValueError(f"not a Slurm time limit: {text!r}")
    days, *clock_values = (int(f) for f in fields)
    if has_days:  # days-hours[:minutes[:seconds]]
        hours, minutes, seconds = (*clock_values, 0, 0)[:3]
    elif len(clock_values) == 3:
        hours, minutes, seconds = clock_values
    else:  # minutes[:seconds]
        hours, (minutes, seconds) = 0, (*clock_values, 0)[:2]
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def _check_values(profile: ClusterProfile) -> None:
    path = profile.source

    def fail(key: str, problem: str) -> typing.NoReturn:
        raise ConfigError(f"{path}: {key}: {problem}")

    for key in ("cpus_per_task", "max_workers", "workers_per_gpu"):
        if getattr(profile, key) < 1:
            fail(key, "must be at least 1")
    if profile.max_requeues < 0:
        fail("max_requeues", "must be at least 0 (0: a job never requeues itself)")
    if profile.array_throttle is not None and profile.array_throttle < 1:
        fail("array_throttle", "must be at least 1 (or null for no throttle)")
    if not 1 <= profile.signal_seconds <= 65535:
        fail("signal_seconds", "must lie in 1..65535 (Slurm's --signal limit)")
    if not profile.mlrc or not all(word.strip() for word in profile.mlrc):
        fail(
            "mlrc",
            f"{profile.mlrc!r} must name the command, without empty words, e.g. mlrc or "
            "[python, -m, benchmark.cli]",
        )

    scopes: list[tuple[str, ClusterProfile | StageOverrides]] = [
        ("", profile),
        *((f"stages.{name}.", o) for name, o in profile.stages.items()),
    ]
    for prefix, scope in scopes:  # the profile's resources, then each stage's overrides
        if scope.gpus is not None and scope.gpus not in (0, 1):
            fail(
                f"{prefix}gpus",
                f"{scope.gpus} GPUs per job: every mlrc process uses one device, so use 0 (CPU "
                "jobs) or 1, and raise workers_per_gpu or max_workers for more parallelism",
            )
        if scope.cpus_per_task is not None and scope.cpus_per_task < 1:
            fail(f"{prefix}cpus_per_task", "must be at least 1")
        problem = _time_problem(scope.time, profile.signal_seconds) if scope.time else None
        if problem:
            fail(f"{prefix}time", problem)
        if scope.mem is not None and _MEMORY.fullmatch(scope.mem) is None:
            fail(f"{prefix}mem", f"{scope.mem!r} is not a Slurm memory size such as 32G or 16000M")
        if scope.mem is not None and int(scope.mem.rstrip("KMGT")) == 0:
            fail(
                f"{prefix}mem",
                "0 asks Slurm for all the memory of a node; give a size such as 32G, or remove "
                "the key for the partition's default",
            )

    names = [(key, getattr(profile, key)) for key in _NAME_SYNTAX]
    names += [(f"stages.{stage}.partition", o.partition) for stage, o in profile.stages.items()]
    for key, value in names:
        if value is None:
            continue
        if not value.strip():
            fail(key, "is empty; remove the key or give a name")
        if _NAME_SYNTAX[key.rsplit(".", 1)[-1]].fullmatch(value) is None:
            fail(
                key,
                f"{value!r} is not a Slurm name: letters, digits and _ . + - only"
                + (" (several partitions: comma-separated)" if key.endswith("partition") else ""),
            )
    for key, options in _extra_sbatch_lists(profile):
        for option in options:
            if any(c in option for c in "\n\r\0"):
                fail(key, f"{option!r} holds a line break: an #SBATCH line cannot contain one")
    for key in profile.env:
        if not _ENV_NAME.fullmatch(key):
            fail("env", f"{key!r} is not a valid environment variable name (letters, digits, _)")
    for key, options in _extra_sbatch_lists(profile):
        for option in options:
            if not _SBATCH_OPTION.fullmatch(option):
                fail(
                    key,
                    f"{option!r} is not a long sbatch option such as '--constraint=a100' "
                    "(one option per list item, no shell)",
                )
            name, _, value = option.partition("=")
            if name in _MANAGED_OPTIONS:
                fail(key, f"{name} is set by mlrc: {_MANAGED_OPTIONS[name]}")
            if any(c in value for c in "\"'\\") or (" " in value and name not in _TEXT_OPTIONS):
                fail(
                    key,
                    f"{option!r}: sbatch takes no quotes or backslashes in an option value, and "
                    f"spaces only in free text ({', '.join(sorted(_TEXT_OPTIONS))}); write the "
                    "value plain, e.g. '--constraint=a100|h100'",
                )
    if profile.conda_env and profile.venv:
        fail("conda_env", "give either venv or conda_env, not both")


def _time_problem(time: str, signal_seconds: int) -> str | None:
    """What is wrong with a time limit, or None."""
    try:
        seconds = time_limit_seconds(time)
    except ValueError:
        return f"{time!r} is not a Slurm time limit such as '24:00:00' or '2-00:00:00'"
    if seconds < signal_seconds + MIN_USEFUL_SECONDS:
        return (
            f"{time} leaves {max(seconds - signal_seconds, 0)} s of work before the time-limit "
            f"signal (signal_seconds: {signal_seconds}); give the jobs at least signal_seconds + "
            f"{MIN_USEFUL_SECONDS // 60} minutes, or they would requeue themselves without "
            "finishing anything"
        )
    return None


def _extra_sbatch_lists(profile: ClusterProfile) -> list[tuple[str, list[str]]]:
    lists = [("extra_sbatch", profile.extra_sbatch)]
    for stage, overrides in profile.stages.items():
        if overrides.extra_sbatch is not None:
            lists.append((f"stages.{stage}.extra_sbatch", overrides.extra_sbatch))
    return lists
