"""Render a :class:`~benchmark.cluster.job.Job` into an sbatch script (``slurm/templates/``,
shipped in the wheel as ``benchmark/slurm/templates/``).

Every value that comes from a profile, a path or a loss name is quoted: with
:func:`shlex.quote` in the shell body, and in the ``#SBATCH`` lines the way sbatch's own reader
takes them (:func:`sbatch_quote`; it is not a shell: a backslash escapes the next character even
inside single quotes). A line break cannot be made safe in an ``#SBATCH`` line, so it is refused.
"""

from __future__ import annotations

import re
import shlex
import string
from pathlib import Path

from benchmark.cluster.cluster_profile import ClusterProfile
from benchmark.cluster.job import Argument, Job, ShellVariable
from benchmark.config import shipped_data_dir
from benchmark.engine import FitDirectory
from benchmark.errors import ConfigError
from benchmark.store.run_directory import RunDirectory

TEMPLATE_PATH = shipped_data_dir("slurm", "slurm") / "templates" / "job.sbatch"


class _ScriptTemplate(string.Template):
    """``{{name}}`` placeholders, so bash's own ``$name`` and ``${...}`` pass through as is."""

    # typeshed types the class attribute as the compiled pattern Template makes of this text
    pattern = r"\{\{(?:(?P<named>[a-z_]+)\}\}|(?P<braced>(?!))|(?P<escaped>(?!))|(?P<invalid>))"  # type: ignore[assignment]


# What a fit writes once it has finished: an attempt that wrote one made progress.
_FINISHED_FIT = FitDirectory(Path(".")).result.name


def render_script(job: Job, profile: ClusterProfile, run_dir: RunDirectory | Path) -> str:
    """The sbatch script of ``job`` in ``run_dir``: its resources, the profile's set-up, its
    command, and the hand-back and bounded requeue on the time-limit signal."""
    run_dir = run_dir if isinstance(run_dir, RunDirectory) else RunDirectory(Path(run_dir))
    template = _ScriptTemplate(TEMPLATE_PATH.read_text())
    directives = sbatch_directives(job, profile, run_dir.slurm_logs_dir)
    return template.substitute(
        description=_one_line(job.description),
        directives="\n".join(f"#SBATCH {option}" for option in directives),
        setup="\n".join(_setup_lines(profile)),
        processes=str(job.processes),
        signal_seconds=str(profile.signal_seconds),
        max_requeues=str(profile.max_requeues),
        attempts_dir=shlex.quote(str(run_dir.slurm_attempts_dir)),
        progress_paths=" ".join(shlex.quote(str(path)) for path in job.progress),
        progress_file=shlex.quote(_FINISHED_FIT),
        command=shell_command(job.command),
    )


def sbatch_directives(job: Job, profile: ClusterProfile, log_dir: Path) -> list[str]:
    """The ``#SBATCH`` options of ``job`` (without the ``#SBATCH`` prefix), values quoted."""
    if "%" in str(log_dir):
        raise ConfigError(
            f"{log_dir}: Slurm reads % in a log path as a pattern (%j, %x, ...); choose a run "
            "directory whose path holds no %"
        )
    log_name = "%x-%A_%a.out" if job.array else "%x-%j.out"
    options: list[tuple[str, str | None]] = [("--job-name", job.name)]
    if job.array_spec:
        options.append(("--array", job.array_spec))
    options += [
        ("--output", str(log_dir / log_name)),
        ("--open-mode", "append"),  # a requeued job adds to its log instead of overwriting it
        *job.resources.sbatch_options(),
        ("--requeue", None),
        ("--signal", f"B:USR1@{profile.signal_seconds}"),
    ]
    rendered = [
        option if value is None else f"{option}={sbatch_quote(value)}" for option, value in options
    ]
    for extra in job.resources.extra_sbatch:
        name, has_value, value = extra.partition("=")
        rendered.append(f"{name}={sbatch_quote(value)}" if has_value else name)
    return rendered


_SBATCH_PLAIN = re.compile(r"^[A-Za-z0-9_.,:=+@%/|&*()\[\]!^~-]*$")


def sbatch_quote(value: str) -> str:
    """``value`` as sbatch reads it back from an ``#SBATCH`` line, written plain when it can be.

    sbatch splits the line at whitespace outside quotes, reads ``#`` outside quotes as the start
    of a comment, and a backslash as escaping the next character anywhere (even inside single
    quotes, unlike a shell): so a value is put in double quotes with ``\\`` and ``"`` escaped.
    A line break cannot be written into an ``#SBATCH`` line at all.
    """
    if any(c in value for c in "\n\r\0"):
        raise ConfigError(
            f"{value!r} holds a line break and cannot be written into an #SBATCH line; "
            "remove it (from the run directory path, loss name or profile value)"
        )
    if value and _SBATCH_PLAIN.match(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def shell_command(argv: tuple[Argument, ...] | list[Argument]) -> str:
    """``argv`` as one shell command line: strings quoted, variables expanded (quoted)."""
    return " ".join(
        f'"${{{word.name}}}"' if isinstance(word, ShellVariable) else shlex.quote(word)
        for word in argv
    )


def _setup_lines(profile: ClusterProfile) -> list[str]:
    """Environment modules, then a conda environment or a venv, then variables."""
    lines = [shell_command(["module", "load", module]) for module in profile.modules]
    if profile.conda_env:
        lines.append('eval "$(conda shell.bash hook)"')
        lines.append(shell_command(["conda", "activate", profile.conda_env]))
    if profile.venv:
        lines.append(shell_command(["source", str(Path(profile.venv) / "bin" / "activate")]))
    lines += [f"export {name}={shlex.quote(value)}" for name, value in profile.env.items()]
    return lines


def _one_line(text: str) -> str:
    return " ".join(text.split())
