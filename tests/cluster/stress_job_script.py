"""`make stress-job-script`: the job script's signal test run many times under CPU load.

The race this guards against showed only on a loaded machine (7 failures in 20 runs): a trapped
USR1 interrupts the script's ``wait`` while the process it waits for ends at once. This runs
``test_time_limit_signal_is_forwarded_and_the_job_requeues_itself`` ``--runs`` times in one
pytest session while busy loops (``--busy-loops-per-core`` on every core, like ``stress --cpu``)
keep the machine loaded, prints how many runs failed, and exits non-zero if any did. Not part of
``make test``: it takes minutes.

    .venv/bin/python tests/cluster/stress_job_script.py --runs 200 --busy-loops-per-core 4
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

TEST = (
    "tests/cluster/test_sbatch_script.py"
    "::test_time_limit_signal_is_forwarded_and_the_job_requeues_itself"
)
REPO = Path(__file__).resolve().parents[2]


class Repeat:
    """A pytest plugin: every collected test runs ``runs`` times; outcomes are counted."""

    def __init__(self, runs: int):
        self.runs = runs
        self.outcomes: dict[str, int] = {"passed": 0, "failed": 0, "skipped": 0}

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        metafunc.fixturenames.append("stress_run")
        metafunc.parametrize("stress_run", range(self.runs), ids=lambda run: f"run{run}")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or report.outcome != "passed":
            self.outcomes[report.outcome] += 1


def busy_loops(count: int) -> list[subprocess.Popen]:
    """``count`` processes that spin on a core each until killed."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="times to run the test")
    parser.add_argument(
        "--busy-loops-per-core", type=int, default=4, help="spinning processes per core"
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.busy_loops_per_core < 0:
        parser.error("--runs must be >= 1 and --busy-loops-per-core >= 0")
    cores = os.cpu_count() or 1
    loops = busy_loops(cores * args.busy_loops_per_core)
    repeat = Repeat(args.runs)
    start = time.monotonic()
    try:
        os.chdir(REPO)
        pytest.main([TEST, "-q", "-p", "no:cacheprovider"], plugins=[repeat])
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()
    failed = repeat.outcomes["failed"]
    print(
        f"stress-job-script: {args.runs} runs under {len(loops)} busy loops on {cores} cores: "
        f"{repeat.outcomes['passed']} passed, {failed} failed, {repeat.outcomes['skipped']} "
        f"skipped ({time.monotonic() - start:.0f} s)"
    )
    return 1 if failed or repeat.outcomes["passed"] != args.runs else 0


if __name__ == "__main__":
    sys.exit(main())
