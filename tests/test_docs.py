"""The documentation: the README shows the two commands and indexes the site; the site's examples
are executed (the Python API snippet, the "Add your own loss" and "Add your own dataset"
plugins), its generated blocks are what the commands print, its API reference covers every
public name, and `mkdocs build --strict` builds it offline (no web font, CDN or external
script)."""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from benchmark.cli import main

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = REPO / "docs"
MKDOCS_YML = REPO / "mkdocs.yml"
TESTED_BLOCK = re.compile(
    r"<!-- docs-test: (?P<what>[^>]+?) -->\n```[a-z]*\n(?P<body>.*?)```", re.S
)
PUBLIC_PACKAGES = (
    "losses",
    "data",
    "models",
    "engine",
    "config",
    "store",
    "search",
    "stages",
    "report",
    "cluster",
    "tracking",
)
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"


def page(relative: str) -> str:
    return (DOCS / relative).read_text()


def executed_blocks(relative: str, section: str | None = None) -> list[tuple[str, str]]:
    """(kind, body) of the tested blocks of a docs page, or of its section ``## <section>``."""
    text = page(relative)
    if section is not None:
        start = text.index(f"\n## {section}\n")
        end = text.find("\n## ", start + 1)
        text = text[start : end if end >= 0 else None]
    return [(m["what"].strip(), m["body"]) for m in TESTED_BLOCK.finditer(text)]


def write_plugin_files_and_read_commands(section: str, folder: Path) -> list[list[str]]:
    """Write the section's ``file`` blocks of the Extending page into ``folder``; its shell
    lines, without the ``.venv/bin/mlrc`` in front, as argument lists."""
    blocks = executed_blocks("extending.md", section)
    for what, body in blocks:
        if what.startswith("file "):
            (folder / what.removeprefix("file ")).write_text(body)
    return [
        shlex.split(line)[1:]
        for what, body in blocks
        if what == "shell"
        for line in body.strip().splitlines()
    ]


def nav_pages(nav: list) -> list[str]:
    """Every page file of the site's navigation, in order."""
    pages = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages.extend(nav_pages(value) if isinstance(value, list) else [value])
    return pages


@pytest.fixture(scope="module")
def config() -> dict:
    # mkdocs.yml holds no YAML tags, so the plain loader reads it.
    return yaml.safe_load(MKDOCS_YML.read_text())


# -- The README -------------------------------------------------------------------------------


def test_readme_shows_the_two_commands():
    text = README.read_text()
    assert re.search(r"^make demo +# ", text, re.M) and re.search(r"^make test +# ", text, re.M)


def test_readme_stays_short():
    lines = len(README.read_text().splitlines())
    assert lines <= 200, f"README.md has {lines} lines: move the detail into docs/ (at most 200)"


def test_readme_indexes_every_page_of_the_site_and_every_link_resolves(config):
    linked = set(re.findall(r"\]\((docs/[^)#]+)(?:#[^)]*)?\)", README.read_text()))
    missing_files = sorted(path for path in linked if not (REPO / path).is_file())
    assert not missing_files, f"README.md links to missing pages: {missing_files}"
    # The API pages of each package are indexed by the API reference's own page.
    pages = [p for p in nav_pages(config["nav"]) if not re.fullmatch(r"reference/\w+\.md", p)]
    pages = [p for p in pages if p != "index.md"] + ["reference/index.md"]
    unindexed = sorted(p for p in pages if f"docs/{p}" not in linked)
    assert not unindexed, f"README.md's index lacks {unindexed}: add one line per page"


def test_readme_intro_is_the_site_home_page_intro():
    text = README.read_text()
    assert "<!-- --8<-- [start:intro] -->" in text and "<!-- --8<-- [end:intro] -->" in text
    assert '--8<-- "README.md:intro"' in page("index.md")


# -- The examples and generated blocks --------------------------------------------------------


def test_docs_have_the_tested_examples():
    assert [what for what, _ in executed_blocks("reference/index.md")] == ["python"]
    assert [what for what, _ in executed_blocks("extending.md")] == [
        "file my_losses.py",
        "file norm_softmax.yaml",
        "shell",
        "file my_dataset.py",
        "shell",
        "file my_trunk.py",
        "shell",
    ]


def test_python_api_example_runs(capsys):
    code = next(body for what, body in executed_blocks("reference/index.md") if what == "python")
    exec(compile(code, "docs/reference/index.md", "exec"), {})
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


def write_csv_images(root: Path, classes: int = 96, per_class: int = 6) -> None:
    """The layout of the docs' my_dataset.py: small PNGs listed in labels.csv; every third
    class is in the official test partition (not the class halves of the default split).
    96 classes: each MLRC fold then trains on 36, enough for a batch of 32 classes x 1 image
    (`mlrc data check` flags fewer)."""
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
    assert (report["num_images"], report["num_classes"], report["problems"]) == (576, 96, [])
    assert report["traditional"] == {
        "train_images": 384,
        "query_images": 192,
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
    assert cold.stdout.split() == ["csv_images", "576", "96"]


def test_trunk_plugin_example_lists_and_runs(tmp_path, monkeypatch, capsys, tiny_overrides):
    commands = write_plugin_files_and_read_commands("Add your own trunk", tmp_path)
    monkeypatch.chdir(tmp_path)
    list_command, run_command = commands

    assert main(list_command) == 0
    listing = capsys.readouterr().out
    assert re.search(r"^resnet18\s+224\s+512\s+plugin\s+\(0.485, 0.456, 0.406\)", listing, re.M)

    # One trial, one repeat, one epoch: ResNet-18 is far heavier than the demo network (each
    # fit's checkpoints, with the optimizer's state, are about 90 MB).
    one = [*tiny_overrides, "study.n_trials=1", "study.sampler.n_startup_trials=1"]
    one += ["retrain.repeats=1", "training.max_epochs=1"]
    fast = [arg for item in one for arg in ("--set", item)]
    assert main([*run_command, "--run-dir", "run", "--no-progress", *fast]) == 0
    rows = pd.read_csv(tmp_path / "run" / "results.csv")
    assert set(rows["loss"]) == {"mfcwms", "untrained"}
    manifest = json.loads((tmp_path / "run" / "run.json").read_text())
    assert manifest["protocol"]["model"]["trunk"] == "resnet18"


def test_docs_document_the_environment_variables_the_package_reads():
    text = "\n".join(path.read_text() for path in sorted(DOCS.rglob("*.md")))
    package = REPO / "benchmark"
    # Every "MLRC_..." string of the package: read with os.environ, or named by a constant.
    read = {
        name
        for path in package.rglob("*.py")
        for name in re.findall(r'"(MLRC_[A-Z_]+)"', path.read_text())
    }
    assert {"MLRC_DATA", "MLRC_CACHE_DIR", "MLRC_LOG_LEVEL"} <= read
    assert {name for name in read if name not in text} == set(), "docs/ does not mention them"


def test_dataset_table_is_the_registry_table(capsys):
    match = re.search(
        r"<!-- datasets:begin -->\n(.*?)<!-- datasets:end -->",
        page("guide/real-datasets.md"),
        re.S,
    )
    assert match, "docs/guide/real-datasets.md lacks the <!-- datasets:begin/end --> block"
    assert main(["data", "list", "--markdown"]) == 0
    assert match[1] == capsys.readouterr().out, (
        "docs/guide/real-datasets.md's dataset table is stale: replace it with "
        "`mlrc data list --markdown`"
    )


def test_getting_started_includes_the_committed_example_table():
    assert '--8<-- "results/example/table1.md"' in page("getting-started.md")
    assert (REPO / "results" / "example" / "table1.md").is_file()


def test_cpu_only_install_is_what_make_runs():
    """The page's command puts torch and torchvision from PyTorch's CPU index into the venv
    before the project, whose install then keeps them; without the variable nothing changes."""
    command = f"make demo TORCH_INDEX_URL={CPU_TORCH_INDEX}"
    assert command in page("getting-started.md") and command in README.read_text()
    if shutil.which("make") is None:
        pytest.fail("make is not installed")

    def dry_run(*args: str) -> list[str]:
        finished = subprocess.run(
            ["make", "--no-print-directory", "-n", "-B", "install", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert finished.returncode == 0, finished.stderr
        return finished.stdout.splitlines()

    lines = dry_run(f"TORCH_INDEX_URL={CPU_TORCH_INDEX}")
    torch_step = [n for n, line in enumerate(lines) if "pip install" in line and "torch " in line]
    project_step = [n for n, line in enumerate(lines) if "-e '.[dev]'" in line]
    assert len(torch_step) == 1 and len(project_step) == 1 and torch_step[0] < project_step[0]
    assert lines[torch_step[0]].endswith(
        f"pip install --quiet torch torchvision --index-url '{CPU_TORCH_INDEX}'"
    )
    assert not any("torchvision" in line for line in dry_run())


# -- The API reference ------------------------------------------------------------------------


def documented_names(package: str) -> dict[str, str]:
    """{name: module} of the ``::: module`` directives of ``docs/reference/<package>.md`` with
    an explicit ``members:`` list."""
    text = page(f"reference/{package}.md")
    documented = {}
    for match in re.finditer(r"^::: (\S+)\n((?:    .*\n)*)", text, re.M):
        options = yaml.safe_load(re.sub(r"^    ", "", match[2], flags=re.M)) or {}
        members = (options.get("options") or {}).get("members")
        for name in members if isinstance(members, list) else []:
            documented[name] = match[1]
    return documented


@pytest.mark.parametrize("package", PUBLIC_PACKAGES)
def test_api_reference_documents_every_public_name_where_it_is_defined(package):
    exported = importlib.import_module(f"benchmark.{package}").__all__
    documented = documented_names(package)
    missing = sorted(set(exported) - set(documented))
    assert not missing, (
        f"docs/reference/{package}.md lacks {missing}: add each to the `members:` of the "
        "`::: module` directive of the module that defines it"
    )
    for name in exported:
        module = importlib.import_module(documented[name])
        assert module.__name__.startswith(f"benchmark.{package}."), (name, module.__name__)
        assert name in vars(module), f"{name} is not in {module.__name__}"


def test_api_reference_pages_are_in_the_nav(config):
    pages = nav_pages(config["nav"])
    assert [f"reference/{package}.md" for package in PUBLIC_PACKAGES] == [
        p for p in pages if re.fullmatch(r"reference/\w+\.md", p) and p != "reference/index.md"
    ]


# -- The site ---------------------------------------------------------------------------------


def test_strict_build_fails_on_broken_links_anchors_and_pages_outside_the_nav(config):
    assert config["strict"] is True
    validation = config["validation"]
    assert validation["links"]["not_found"] == validation["links"]["anchors"] == "warn"
    assert validation["nav"]["omitted_files"] == validation["nav"]["not_found"] == "warn"
    assert config["theme"]["font"] is False  # no Google Fonts from the web


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site, built with ``mkdocs build --strict`` (what `make docs` runs)."""
    out = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, f"mkdocs build --strict failed:\n{built.stderr[-4000:]}"
    return out


def test_every_page_is_built(site, config):
    for page_file in nav_pages(config["nav"]):
        html = site / (page_file.removesuffix(".md") + ".html")
        assert html.is_file(), f"{page_file} was not built"


EXTERNAL_ASSET = re.compile(
    r"""<(?:script|img|iframe|source|audio|video)\b[^>]*\bsrc=["']?(?:https?:)?//"""
    r"""|<link\b[^>]*\bhref=["']?(?:https?:)?//"""
    r"""|@import\s+(?:url\()?["']?(?:https?:)?//"""
    r"""|url\(["']?(?:https?:)?//""",
    re.I,
)


def test_the_site_loads_nothing_from_the_network(site):
    files = [p for p in site.rglob("*") if p.suffix in {".html", ".css", ".js"}]
    assert len(files) > 20
    external = {
        str(path.relative_to(site)): EXTERNAL_ASSET.findall(path.read_text(errors="replace"))
        for path in files
    }
    assert {name: found for name, found in external.items() if found} == {}


LOCAL_LINK = re.compile(r"""\b(?:href|src)="(?![a-z]+:|#|//)([^"#?]+)""", re.I)


def test_every_local_link_of_the_site_is_a_file_on_disk(site):
    """The site reads from the disk as it is (file://): each link names a file, not a folder.
    (404.html is for a web server, which serves it at any path: its links are absolute.)"""
    broken = {
        f"{html.relative_to(site)} -> {target}"
        for html in site.rglob("*.html")
        if html.name != "404.html"
        for target in LOCAL_LINK.findall(html.read_text())
        if not (html.parent / target).is_file()
    }
    assert not broken, sorted(broken)[:20]


def test_the_rendered_pages_hold_their_content(site):
    home = (site / "index.html").read_text()
    assert "class-disjoint 4-fold" in home  # the README's intro, included
    started = (site / "getting-started.html").read_text()
    assert "<table>" in started and "MFCWMS" in started  # the example table, included
    losses = (site / "losses.html").read_text()
    assert losses.count("<tr>") >= 25 + 1 + 60  # both generated tables render as tables


@pytest.mark.parametrize("package", PUBLIC_PACKAGES)
def test_every_public_name_has_an_entry_in_its_api_page(site, package):
    html = (site / "reference" / f"{package}.html").read_text()
    for name, module in documented_names(package).items():
        assert f'id="{module}.{name}"' in html, f"{module}.{name} has no entry"
