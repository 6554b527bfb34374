"""A demo-sized run made once per session, with its tables and results page (the page tests
and the browser tests read it)."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.cli.gpu_check import TINY_OVERRIDES

# The tiny protocol of tests/conftest.py's `tiny_overrides` (it copies this tuple; a fixture of
# the whole session cannot take that per-test fixture), with a fourth trial and the median
# pruner, so that a study holds more than its start-up trials and may prune.
DEMO_OVERRIDES = (*TINY_OVERRIDES, "study.n_trials=4", "study.pruner=median")
DEMO_LOSSES = ("contrastive", "mfcwms")


@dataclass(frozen=True)
class DemoPage:
    run_dir: Path
    out: Path
    site: Path
    printed: str

    @property
    def html(self) -> str:
        return (self.site / "index.html").read_text()


@pytest.fixture(scope="session")
def demo_page(tmp_path_factory) -> DemoPage:
    """`mlrc run` of two losses on the tiny protocol, then `mlrc tables RUN --html SITE`."""
    base = tmp_path_factory.mktemp("demo-page")
    run_dir, out, site = base / "run", base / "tables", base / "site"
    overrides = [arg for item in DEMO_OVERRIDES for arg in ("--set", item)]
    losses = ",".join(DEMO_LOSSES)
    run = ["run", "--losses", losses, "--run-dir", str(run_dir), "--no-progress", *overrides]
    assert main(run) == 0
    printed = io.StringIO()
    with redirect_stdout(printed):
        code = main(["tables", str(run_dir), "--out", str(out), "--html", str(site)])
    assert code == 0, printed.getvalue()
    return DemoPage(run_dir, out, site, printed.getvalue())
