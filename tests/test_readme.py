"""The README's examples are executed: the Python API snippet and the "Add your own loss" plugin."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pandas as pd

from benchmark.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"<!-- readme-test: (?P<what>[^>]+?) -->\n```[a-z]*\n(?P<body>.*?)```", re.S)


def readme_blocks() -> list[tuple[str, str]]:
    return [(m["what"].strip(), m["body"]) for m in BLOCK.finditer(README.read_text())]


def test_readme_has_the_tested_examples():
    kinds = [what for what, _ in readme_blocks()]
    assert kinds == ["python", "file my_losses.py", "file norm_softmax.yaml", "shell"]


def test_python_api_example_runs(capsys):
    code = next(body for what, body in readme_blocks() if what == "python")
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "torch.Size([100, 128])" in printed and "map_at_r" in printed


def test_plugin_example_registers_lists_and_runs(tmp_path, monkeypatch, capsys, tiny_overrides):
    for what, body in readme_blocks():
        if what.startswith("file "):
            (tmp_path / what.removeprefix("file ")).write_text(body)
    monkeypatch.chdir(tmp_path)
    commands = [
        shlex.split(line)[1:]  # drop ".venv/bin/mlrc"
        for what, body in readme_blocks()
        if what == "shell"
        for line in body.strip().splitlines()
    ]
    list_command, run_command = commands

    assert main(list_command) == 0
    listing = capsys.readouterr().out
    assert re.search(
        r"norm_softmax\s+NormSoftmax\s+classification\s+yes\s+unstated\s+temperature log", listing
    )

    fast = [arg for item in tiny_overrides for arg in ("--set", item)]
    assert main([*run_command, "--run-dir", "run", "--no-progress", *fast]) == 0
    rows = pd.read_csv(tmp_path / "run" / "results.csv")
    assert {"norm_softmax", "mfcwms", "untrained"} == set(rows["loss"])
    assert "NormSoftmax" in capsys.readouterr().out


def test_readme_documents_the_environment_variables_the_package_reads():
    text = README.read_text()
    for variable in ("MLRC_DATA", "MLRC_CACHE_DIR"):
        assert f"{variable}" in text, f"README.md does not mention ${variable}"
    package = Path(__file__).resolve().parent.parent / "benchmark"
    read = {
        name
        for path in package.rglob("*.py")
        for name in re.findall(r'environ(?:\.get)?\(\s*"(MLRC_[A-Z_]+)"', path.read_text())
    }
    assert read, "the search for environment variables found none: the test would pass vacuously"
    assert {name for name in read if name not in text} == set()
