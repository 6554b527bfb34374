"""What `mlrc` writes where: results on stdout, log lines on stderr, chosen by -v/-q or
MLRC_LOG_LEVEL; progress bars on a terminal only, timestamped log lines in jobs."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys

import pytest

from benchmark.cli import build_parser, main

ONE_TRIAL = ["study.n_trials=1", "retrain.repeats=1"]
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")


@pytest.fixture(autouse=True)
def restored_logging():
    """main() configures the process's logging; later tests get back the levels and handlers."""
    loggers = [logging.getLogger(name) for name in ("", "benchmark", "optuna")]
    saved = [(logger, logger.level, list(logger.handlers)) for logger in loggers]
    yield
    for logger, level, handlers in saved:
        logger.setLevel(level)
        logger.handlers[:] = handlers


def _run_args(run_dir, tiny_overrides) -> list[str]:
    overrides = [*tiny_overrides, *ONE_TRIAL]
    sets = [arg for item in overrides for arg in ("--set", item)]
    return ["run", "--losses", "contrastive", "--run-dir", str(run_dir), *sets]


def _mlrc_subprocess(args: list[str]) -> subprocess.CompletedProcess:
    """`mlrc ARGS` with stdout and stderr as pipes (as in a Slurm job: no terminal)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("MLRC_LOG_LEVEL", None)
    return subprocess.run(
        [sys.executable, "-m", "benchmark.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_quiet_run_prints_only_the_table(tmp_path, tiny_overrides):
    run_dir = tmp_path / "run"
    done = _mlrc_subprocess(["-q", *_run_args(run_dir, tiny_overrides)])
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout == (run_dir / "table.md").read_text()
    assert "| Cont. |" in done.stdout and "| no training |" in done.stdout


def test_without_a_terminal_progress_is_timestamped_log_lines_not_bars(tmp_path, tiny_overrides):
    run_dir = tmp_path / "run"
    done = _mlrc_subprocess(_run_args(run_dir, tiny_overrides))
    assert done.returncode == 0, done.stderr
    assert done.stdout == (run_dir / "table.md").read_text()
    assert "\r" not in done.stderr and "█" not in done.stderr and "%|" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines and all(TIMESTAMP.match(line) for line in lines), done.stderr
    messages = [TIMESTAMP.sub("", line) for line in lines]
    for expected in (
        f"run directory: {run_dir}",
        "study Cont.: 0/1 trials done",
        "study Cont.: 1/1 trials done",
        "retrain Cont.: 1/1 repeats done",
        f"table:   {run_dir / 'table.md'}",
    ):
        assert expected in messages, done.stderr
    assert not any(message.startswith("debug: ") for message in messages)


def test_verbose_adds_debug_lines_of_each_trial_and_fit(tmp_path, tiny_overrides, capsys):
    assert main(["-v", *_run_args(tmp_path / "run", tiny_overrides)]) == 0
    err = capsys.readouterr().err
    assert re.search(r"debug: contrastive trial 0: mean val MAP@R \d\.\d{4} with \{", err), err
    assert re.search(r"debug: contrastive fold 3: \d+/6 iterations done \(loss=", err), err


def test_log_level_variable_sets_the_level_and_a_flag_overrides_it(
    tmp_path, tiny_overrides, capsys, monkeypatch
):
    monkeypatch.setenv("MLRC_LOG_LEVEL", "warning")
    assert main(_run_args(tmp_path / "warning", tiny_overrides)) == 0
    captured = capsys.readouterr()
    assert "| Cont. |" in captured.out
    assert captured.err == "", "WARNING hides the progress lines"

    assert main(["-v", *_run_args(tmp_path / "verbose", tiny_overrides)]) == 0
    assert "debug: contrastive fold 0: " in capsys.readouterr().err


def test_a_bad_log_level_variable_is_one_error_line(capsys, monkeypatch):
    monkeypatch.setenv("MLRC_LOG_LEVEL", "LOUD")
    assert main(["losses"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "error: MLRC_LOG_LEVEL=LOUD is not a log level; use one of DEBUG, INFO, WARNING, ERROR\n"
    )


def test_verbosity_flags_go_before_or_after_the_subcommand(capsys):
    parser = build_parser()
    assert parser.parse_args(["-q", "losses"]).quiet is True
    assert parser.parse_args(["losses", "-q"]).quiet is True
    assert parser.parse_args(["-vv", "losses"]).verbose == 2
    assert parser.parse_args(["slurm", "status", "results/runs/x", "-v"]).verbose == 1
    assert parser.parse_args(["losses"]).verbose == 0
    assert main(["-q", "losses", "-v"]) == 2
    assert capsys.readouterr().err == "error: -q and -v contradict each other; pass one of them\n"


@pytest.mark.parametrize(("verbose", "optuna_level"), [(0, "WARNING"), (1, "INFO"), (2, "DEBUG")])
def test_optuna_imported_after_the_configuration_logs_through_our_handler(verbose, optuna_level):
    # A command that needs Optuna imports it after main() configured logging (status, tables
    # and --help never import it): it is configured on that first import, as if it had been
    # imported before.
    probe = (
        "import logging, sys\n"
        "from benchmark.cli._logging import configure_logging, log_level\n"
        f"configure_logging(log_level({verbose}, False, {{}}), {verbose})\n"
        "assert 'optuna' not in sys.modules\n"
        "import optuna\n"
        "logger = logging.getLogger('optuna')\n"
        "print(logger.handlers, logger.propagate, logging.getLevelName(logger.level))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["[]", "True", optuna_level]
