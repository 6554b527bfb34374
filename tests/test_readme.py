"""The README's examples are executed: the Python API snippet and the "Add your own loss" and
"Add your own dataset" plugins."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from benchmark.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"<!-- readme-test: (?P<what>[^>]+?) -->\n```[a-z]*\n(?P<body>.*?)```", re.S)


def readme_blocks(section: str | None = None) -> list[tuple[str, str]]:
    """(kind, body) of the tested blocks of the README, or of its section ``## <section>``."""
    text = README.read_text()
    if section is not None:
        start = text.index(f"\n## {section}\n")
        end = text.find("\n## ", start + 1)
        text = text[start : end if end >= 0 else None]
    return [(m["what"].strip(), m["body"]) for m in BLOCK.finditer(text)]


def write_plugin_files_and_read_commands(section: str, folder: Path) -> list[list[str]]:
    """Write the section's ``file`` blocks into ``folder``; its shell lines, without the
    ``.venv/bin/mlrc`` in front, as argument lists."""
    blocks = readme_blocks(section)
    for what, body in blocks:
        if what.startswith("file "):
            (folder / what.removeprefix("file ")).write_text(body)
    return [
        shlex.split(line)[1:]
        for what, body in blocks
        if what == "shell"
        for line in body.strip().splitlines()
    ]


def test_readme_has_the_tested_examples():
    kinds = [what for what, _ in readme_blocks()]
    assert kinds == [
        "python",
        "file my_losses.py",
        "file norm_softmax.yaml",
        "shell",
        "file my_dataset.py",
        "shell",
    ]


def test_python_api_example_runs(capsys):
    code = next(body for what, body in readme_blocks() if what == "python")
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "torch.Size([100, 128])" in printed and "map_at_r" in printed


def test_plugin_example_registers_lists_and_runs(tmp_path, monkeypatch, capsys, tiny_overrides):
    commands = write_plugin_files_and_read_commands("Add your own loss", tmp_path)
    monkeypatch.chdir(tmp_path)
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


def write_csv_images(root: Path, classes: int = 48, per_class: int = 6) -> None:
    """The layout of the README's my_dataset.py: small PNGs listed in labels.csv; every third
    class is in the official test partition (not the class halves of the default split)."""
    rng = np.random.default_rng(0)
    lines = []
    for k in range(classes):
        colour = rng.integers(0, 256, 3)
        for j in range(per_class):
            pixels = np.clip(colour + rng.normal(0, 20, (32, 32, 3)), 0, 255).astype(np.uint8)
            path = root / f"class_{k:02d}" / f"{j}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(path)
            partition = "test" if k % 3 == 0 else "train"
            lines.append(f"class_{k:02d}/{j}.png,class_{k:02d},{partition}")
    (root / "labels.csv").write_text("\n".join(lines) + "\n")


def test_dataset_plugin_example_lists_checks_and_runs_also_in_a_cold_worker(
    tmp_path, monkeypatch, capsys, tiny_overrides
):
    commands = write_plugin_files_and_read_commands("Add your own dataset", tmp_path)
    write_csv_images(tmp_path / "my_images")
    monkeypatch.chdir(tmp_path)
    list_command, check_command, run_command = commands

    assert main(list_command) == 0
    assert re.search(r"^csv_images\s+CSV images\s+<root>/labels.csv", capsys.readouterr().out, re.M)

    assert main([*check_command, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["num_images"], report["num_classes"], report["problems"]) == (288, 48, [])
    assert report["traditional"] == {
        "train_images": 192,
        "query_images": 96,
        "gallery_images": None,
    }

    fast = [arg for item in tiny_overrides for arg in ("--set", item)]
    assert main([*run_command, "--run-dir", "run", "--no-progress", *fast]) == 0
    rows = pd.read_csv(tmp_path / "run" / "results.csv")
    assert set(rows["dataset"]) == {"csv_images"} and set(rows["loss"]) == {"mfcwms", "untrained"}
    assert re.search(r"^\| MFCWMS \|", capsys.readouterr().out, re.M)

    # A process started cold on the run directory loads the plugin recorded in run.json.
    attach = (
        "from benchmark.search import StudyContext\n"
        "index = StudyContext.attach('run').cross_validation.index\n"
        "print(index.name, index.num_images, index.num_classes)\n"
    )
    cold = subprocess.run([sys.executable, "-c", attach], capture_output=True, text=True)
    assert cold.returncode == 0, cold.stderr
    assert cold.stdout.split() == ["csv_images", "288", "48"]


def test_readme_documents_the_environment_variables_the_package_reads():
    text = README.read_text()
    for variable in ("MLRC_DATA", "MLRC_CACHE_DIR", "MLRC_LOG_LEVEL"):
        assert f"{variable}" in text, f"README.md does not mention ${variable}"
    package = Path(__file__).resolve().parent.parent / "benchmark"
    read = {
        name
        for path in package.rglob("*.py")
        for name in re.findall(r'environ(?:\.get)?\(\s*"(MLRC_[A-Z_]+)"', path.read_text())
    }
    assert read, "the search for environment variables found none: the test would pass vacuously"
    assert {name for name in read if name not in text} == set()


def test_readme_dataset_table_is_the_registry_table(capsys):
    match = re.search(
        r"<!-- datasets:begin -->\n(.*?)<!-- datasets:end -->", README.read_text(), re.S
    )
    assert match, "README.md lacks the <!-- datasets:begin/end --> block"
    assert main(["data", "list", "--markdown"]) == 0
    assert match[1] == capsys.readouterr().out, (
        "README.md's dataset table is stale: replace it with `mlrc data list --markdown`"
    )
