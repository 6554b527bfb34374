"""Progress: a bar on a terminal, log lines elsewhere (a Slurm log), nothing under -q."""

from __future__ import annotations

import io
import logging

import pytest

from benchmark.progress import Progress, tracked

LOGGER = logging.getLogger("benchmark.tests.progress")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def stderr(monkeypatch):
    """``stderr(terminal)`` replaces sys.stderr by a buffer (a terminal or not) and returns it."""

    def install(terminal: bool) -> io.StringIO:
        stream = _Terminal() if terminal else io.StringIO()
        monkeypatch.setattr("sys.stderr", stream)
        return stream

    return install


@pytest.fixture
def caplog(caplog, monkeypatch):
    """caplog fed by the test logger alone: no other handler (a CLI's, left by an earlier
    test) writes its lines to the replaced stderr."""
    monkeypatch.setattr(LOGGER, "propagate", False)
    LOGGER.addHandler(caplog.handler)
    yield caplog
    LOGGER.removeHandler(caplog.handler)


def test_without_a_terminal_progress_is_log_lines_at_start_every_step_and_end(stderr, caplog):
    written = stderr(terminal=False)
    caplog.set_level(logging.INFO, logger=LOGGER.name)
    for _ in tracked(range(3), "study MFCWMS", logger=LOGGER, unit="trial"):
        pass
    assert written.getvalue() == "", "no bar without a terminal"
    assert caplog.messages == [f"study MFCWMS: {n}/3 trials done" for n in range(4)]


def test_on_a_terminal_progress_is_a_bar_and_no_log_line(stderr, caplog):
    written = stderr(terminal=True)
    caplog.set_level(logging.INFO, logger=LOGGER.name)
    for _ in tracked(range(3), "retrain MFCWMS", logger=LOGGER, unit="repeat"):
        pass
    assert "retrain MFCWMS: 100%" in written.getvalue() and "3/3" in written.getvalue()
    assert caplog.messages == []


def test_no_progress_on_a_terminal_gives_log_lines_instead_of_a_bar(stderr, caplog):
    written = stderr(terminal=True)
    caplog.set_level(logging.INFO, logger=LOGGER.name)
    with Progress("checking images", 2, logger=LOGGER, unit="image", bars=False) as progress:
        progress.update(2)
    assert written.getvalue() == ""
    assert caplog.messages[-1] == "checking images: 2/2 images done"


def test_silenced_warnings_hide_the_bar_and_the_lines(stderr, caplog):
    written = stderr(terminal=True)
    caplog.set_level(logging.ERROR, logger=LOGGER.name)  # mlrc -q
    with Progress("study MFCWMS", 5, logger=LOGGER, unit="trial") as progress:
        progress.update(5)
    assert written.getvalue() == "" and caplog.messages == []


def test_lines_come_every_log_every_steps_with_the_postfix_and_the_final_count(stderr, caplog):
    stderr(terminal=False)
    caplog.set_level(logging.DEBUG, logger=LOGGER.name)
    with Progress(
        "mfcwms fold 0", 100, logger=LOGGER, unit="iteration", initial=30, log_every=30
    ) as progress:
        for step in range(40):  # stops early, between two lines
            progress.set_postfix(loss=f"{step / 10:.1f}")
            progress.update()
    assert caplog.messages == [
        "mfcwms fold 0: 30/100 iterations done",
        "mfcwms fold 0: 60/100 iterations done (loss=2.9)",
        "mfcwms fold 0: 70/100 iterations done (loss=3.9)",
    ]


def test_a_count_set_from_outside_is_logged_when_it_changes(stderr, caplog):
    stderr(terminal=False)
    caplog.set_level(logging.INFO, logger=LOGGER.name)
    progress = Progress("study Cont.", 8, logger=LOGGER, unit="trial", initial=2)
    progress.set_count(5)  # other workers finished trials meanwhile
    progress.close()
    assert caplog.messages == ["study Cont.: 2/8 trials done", "study Cont.: 5/8 trials done"]
    assert [r.levelno for r in caplog.records] == [logging.INFO] * 2


@pytest.mark.parametrize(
    ("unit", "plural"),
    [("study", "studies"), ("day", "days"), ("trial", "trials"), ("pass", "passes")],
)
def test_the_count_names_its_unit_in_the_plural(stderr, caplog, unit, plural):
    stderr(terminal=False)
    caplog.set_level(logging.INFO, logger=LOGGER.name)
    for _ in tracked(range(2), "profile pruners", logger=LOGGER, unit=unit):
        pass
    assert caplog.messages[-1] == f"profile pruners: 2/2 {plural} done"
