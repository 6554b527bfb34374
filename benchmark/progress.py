"""Progress of a long step: a tqdm bar on a terminal, occasional log lines everywhere else.

Every stage reports its progress through :class:`Progress` (or :func:`tracked` over an
iterable); how it shows is decided here, once:

- a bar on stderr when bars are allowed (``bars``, i.e. no ``--no-progress``), stderr is a
  terminal and the stage's logger has not been silenced below warnings (``mlrc -q``);
- otherwise a line on the stage's logger every ``log_every`` steps, at the start and at the
  end, e.g. ``study MFCWMS: 12/50 trials done`` in a Slurm log.

>>> import logging
>>> with Progress("study MFCWMS", 50, logger=logging.getLogger(__name__), unit="trial") as p:
...     p.update(12)  # a line "study MFCWMS: 12/50 trials done", or the bar moves to 12/50
>>> p.count
12
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator, Sized
from typing import Any, TypeVar

from tqdm import tqdm

Item = TypeVar("Item")


def stderr_is_terminal() -> bool:
    """True when stderr is an interactive terminal (not a pipe, file or Slurm log)."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced by an object without isatty, or closed
        return False


class Progress:
    """Counts finished steps of one task and shows them as a bar or as log lines.

    Args:
        description: what is counted, first on each bar and line (``"retrain MFCWMS"``).
        total: the number of steps when the task is done.
        logger: the stage's logger, which writes the lines (``logging.getLogger(__name__)``).
        unit: the name of one step (``"trial"``); lines use its plural.
        initial: steps already done (a resumed task).
        bars: allow a bar (False for ``--no-progress``: lines instead).
        level: the level of the lines (DEBUG for inner loops such as a fit's iterations).
        log_every: write a line each time this many more steps are done.
        leave: keep the finished bar on screen.
    """

    def __init__(
        self,
        description: str,
        total: int | None,
        *,
        logger: logging.Logger,
        unit: str = "step",
        initial: int = 0,
        bars: bool = True,
        level: int = logging.INFO,
        log_every: int = 1,
        leave: bool = True,
    ):
        self.description = description
        self.total = total
        self.logger = logger
        self.unit = unit
        self.level = level
        self.log_every = max(1, int(log_every))
        self.count = initial
        self._postfix = ""
        self._logged: int | None = None
        self._bar: tqdm | None = None
        if bars and stderr_is_terminal() and logger.isEnabledFor(logging.WARNING):
            self._bar = tqdm(
                total=total,
                initial=initial,
                desc=description,
                unit=unit,
                leave=leave,
                dynamic_ncols=True,
                file=sys.stderr,
            )
        else:
            self._log()

    def update(self, steps: int = 1) -> None:
        """``steps`` more steps are done."""
        self.set_count(self.count + steps)

    def set_count(self, count: int) -> None:
        """``count`` steps are done (counted elsewhere, e.g. by every worker of a study)."""
        previous, self.count = self.count, count
        if self._bar is not None:
            self._bar.update(count - previous)
        elif count // self.log_every != previous // self.log_every or count == self.total:
            self._log()

    def set_postfix(self, text: str = "", **values: Any) -> None:
        """What is shown after the count from now on: ``text``, or ``values`` as
        ``loss=0.1234, ...``."""
        self._postfix = text or ", ".join(f"{name}={value}" for name, value in values.items())
        if self._bar is not None:
            self._bar.set_postfix_str(self._postfix, refresh=False)

    def close(self) -> None:
        """End the bar, or write the final count if the last line did not."""
        if self._bar is not None:
            self._bar.close()
        elif self._logged != self.count:
            self._log()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _log(self) -> None:
        self._logged = self.count
        if not self.logger.isEnabledFor(self.level):
            return
        total = "" if self.total is None else f"/{self.total}"
        line = f"{self.description}: {self.count}{total} {_plural(self.unit)} done"
        self.logger.log(self.level, f"{line} ({self._postfix})" if self._postfix else line)


def tracked(
    items: Iterable[Item], description: str, *, total: int | None = None, **options: Any
) -> Iterator[Item]:
    """Yield ``items``, counting one step each time the caller finishes with one.

    ``options`` are :class:`Progress`'s (``logger`` is required); ``total`` defaults to
    ``len(items)``.
    """
    if total is None and isinstance(items, Sized):
        total = len(items)
    with Progress(description, total, **options) as progress:
        for item in items:
            yield item
            progress.update()


def _plural(unit: str) -> str:
    if unit.endswith("y") and unit[-2:-1] not in ("a", "e", "i", "o", "u"):
        return unit[:-1] + "ies"  # study -> studies (day -> days)
    return unit + ("es" if unit.endswith(("s", "sh", "ch", "x")) else "s")
