"""Which repeats of a results file a tear left incomplete: a repeat is whole or absent.

Every repeat's rows (one per evaluation mode and metric) are appended together, so a file cut
during a write (a crash, a full disk, an interrupted copy) can hold a torn row and, before it,
part of the same repeat. The repair keeps the whole rows and drops every row of a repeat the
tear touched, so that the stage that wrote it computes it again (and nothing else):

- a torn row whose ``loss`` and ``repeat`` fields survived names its repeat;
- a torn row cut before them belongs to the repeat written just before it, or is the first row
  of a repeat nothing else of which reached the file: that earlier repeat is dropped unless
  another repeat of its group shows it whole (the same evaluations);
- a repeat whose evaluations (mode, dim, metric) are fewer than another repeat's of its group
  (same dataset, protocol and ablation setting: one configuration) was cut at a line end.

The column names are the results schema's (:mod:`benchmark.store.results_file` passes them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from benchmark.io import CsvRecords


@dataclass(frozen=True)
class RepeatFields:
    """The results columns this module reads."""

    repeat: Sequence[str]
    """What names a repeat, e.g. ``("loss", "repeat", "ablation_value")``."""
    group: Sequence[str]
    """What shares one configuration, e.g. ``("dataset", "protocol", "ablation_value")``."""
    evaluation: Sequence[str]
    """What tells a repeat's rows apart, e.g. ``("mode", "dim", "metric")``."""


def incomplete_repeats(
    whole: pd.DataFrame, records: CsvRecords, fields: RepeatFields
) -> set[tuple[str, ...]]:
    """The repeats (tuples of ``fields.repeat``, as text) of ``whole`` -- the whole rows of
    ``records``, read as text -- that a tear left incomplete."""
    if whole.empty:
        return set()
    repeat_keys = _keys(whole, fields.repeat)
    evaluations: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
    for key, evaluation in zip(repeat_keys, _keys(whole, fields.evaluation), strict=True):
        evaluations.setdefault(key, set()).add(evaluation)
    groups: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
    for key, group in zip(repeat_keys, _keys(whole, fields.group), strict=True):
        groups.setdefault(group, set()).add(key)
    siblings = {key: members - {key} for members in groups.values() for key in members}

    dropped, suspects = set(), set()
    for record, before in zip(records.torn, records.whole_before_torn, strict=True):
        known = dict(zip(records.header, record.fields[:-1], strict=False))  # last: maybe cut
        named = [known.get(name) for name in fields.repeat]
        if named[0] is not None and named[1] is not None:
            dropped |= {key for key in evaluations if _matches(key, named)}
        elif before > 0:
            suspects.add(repeat_keys[before - 1])
    for key, own in evaluations.items():
        others = [evaluations[other] for other in siblings[key]]
        if any(own < other for other in others):
            dropped.add(key)  # cut at a line end
        elif key in suspects and not any(own == other for other in others):
            dropped.add(key)  # nothing shows it whole
    return dropped


@dataclass(frozen=True)
class WholeRepeats:
    """A results file's whole repeats, and what a tear damaged."""

    rows: pd.DataFrame
    """The rows of the whole repeats, as written."""
    records: CsvRecords
    torn_repeats: set[tuple[str, ...]]
    rows_dropped: int
    """Whole rows left out with the torn repeats."""
    fields: RepeatFields

    @property
    def damaged(self) -> bool:
        return bool(self.records.torn or self.torn_repeats)

    def warning(self, path: Path) -> str:
        """The one warning of a repair: the torn rows, and the repeats dropped with them."""
        torn = [record.describe() for record in self.records.torn]
        named = sorted(_named(key, self.fields) for key in self.torn_repeats)
        what = f"the torn row(s) ({'; '.join(torn)})" if torn else "no torn row"
        return (
            f"results {path}: removed {what} and the {self.rows_dropped} whole row(s) of the "
            f"repeat(s) a write left incomplete ({', '.join(named) or 'none'}); they are "
            "computed again"
        )


def whole_repeats(rows: pd.DataFrame, records: CsvRecords, fields: RepeatFields) -> WholeRepeats:
    """``rows`` (the whole rows of ``records``, as text) without the repeats a tear touched."""
    torn = incomplete_repeats(rows, records, fields)
    keep = pd.Series([key not in torn for key in _keys(rows, fields.repeat)], dtype=bool)
    kept = rows.loc[keep.to_numpy()]  # (an empty list would select no columns)
    return WholeRepeats(kept, records, torn, len(rows) - len(kept), fields)


def _named(key: tuple[str, ...], fields: RepeatFields) -> str:
    """``loss=mfcwms repeat=2``: a repeat as a reader finds it in the file."""
    return " ".join(f"{name}={part}" for name, part in zip(fields.repeat, key, strict=True) if part)


def _matches(key: tuple[str, ...], named: list[str | None]) -> bool:
    """Whether a repeat is the one a torn row names (a field it lost matches any value)."""
    return all(value is None or value == part for part, value in zip(key, named, strict=True))


def _keys(rows: pd.DataFrame, names: Sequence[str]) -> list[tuple[str, ...]]:
    columns = [rows[name].astype(str) if name in rows else [""] * len(rows) for name in names]
    return list(zip(*columns, strict=True))
