"""The summary frame: one row per table cell (mean, interval, n over the repeats).

Every table (md, tex and csv alike) and every figure of results is drawn from this frame.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from benchmark.report.labels import BEST_EPOCH
from benchmark.report.stats import confidence_interval, sample_std
from benchmark.store.result_fields import best_epoch_of
from benchmark.store.results_file import MODE_SINGLE, ROW_KEY, UNTRAINED, finite_rows

# What identifies a cell: a result's key without its repeat (the repeats of a cell are
# summarised), and the loss's label beside the loss.
SUMMARY_KEY = [key for key in ROW_KEY if key != "repeat"]
SUMMARY_KEY.insert(SUMMARY_KEY.index("loss") + 1, "display")
STAT_COLUMNS = ["mean", "std", "ci_low", "ci_high", "half_width", "n", "confidence"]
SETTINGS = "settings"
"""The summary column of the settings a cell's run was made with unlike the other runs of its
table (:mod:`benchmark.report.run_settings`; empty: alike, or a single run)."""
BUDGET = "n_trials"
"""The summary column of a cell's study budget: its repeats' ``n_trials`` (``5``), several
joined (``5|8``: repeats searched under different budgets, ``?`` for one unknown), or empty
(unknown, or nothing searched)."""


def summarize_results(rows: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Mean, sample std (ddof 1), Student-t CI bounds and n per cell over the repeats.

    ``rows`` must be normalised already (``normalize_rows``, as ``read_results_csv`` and
    ``merge_rows`` return them). Rows with a non-finite value are left out, with one warning
    naming them (``finite_rows``): their cells count fewer repeats. With a single repeat the std
    and the CI bounds are NaN. ``n_trials`` says the budget the cell's loss was searched under
    (:data:`BUDGET`).
    """
    rows = finite_rows(rows)
    records = []
    for key, group in rows.groupby(SUMMARY_KEY, sort=False) if len(rows) else []:
        values = group["value"].to_list()
        interval = confidence_interval(values, confidence)
        records.append(
            dict(
                zip(SUMMARY_KEY, key, strict=True),
                mean=interval.mean,
                std=sample_std(values),
                ci_low=interval.low,
                ci_high=interval.high,
                half_width=interval.half_width,
                n=interval.n,
                confidence=confidence,
                n_trials=cell_budget(group.get(BUDGET, [])),
                settings=", ".join(
                    dict.fromkeys(t for t in group.get(SETTINGS, []) if isinstance(t, str) and t)
                ),
            )
        )
    columns = [*SUMMARY_KEY, *STAT_COLUMNS, BUDGET, SETTINGS]
    return pd.DataFrame.from_records(records, columns=columns)


def cell_budget(budgets: Iterable[str]) -> str:
    """The :data:`BUDGET` of a cell from its rows' ``n_trials``."""
    distinct = sorted(set(budgets), key=lambda text: (text != "", int(text) if text else 0))
    if len(distinct) == 1:
        return distinct[0]
    return "|".join(text or "?" for text in distinct)


PAPER_EPOCH_OFFSET = 1
"""``best_epochs`` counts the epochs of training before the selected model (1: after the first
epoch); the paper's Epoch column counts from 0, as the authors' loop ``for epoch in
range(nb_epochs)`` names the epoch it has just trained. Tables show best_epochs - 1."""


def with_best_epoch_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Add one ``best_epoch`` row per single-model repeat that records its early-stop epoch.

    The traditional tables report the epoch of the selected model beside MAP@R, counted from 0
    as the paper (:data:`PAPER_EPOCH_OFFSET`); a row's ``best_epochs`` lists it per fold model
    (one for the traditional protocol). The untrained networks were never trained, so never
    early-stopped: they have no epoch (their cell shows "—").
    """
    trained = rows["loss"] != UNTRAINED
    single = rows[(rows["mode"] == MODE_SINGLE) & (rows["best_epochs"] != "") & trained]
    if single.empty:
        return rows
    per_repeat = single.drop_duplicates([c for c in SUMMARY_KEY if c != "metric"] + ["repeat"])
    recorded = [best_epoch_of(text) for text in per_repeat["best_epochs"]]
    epochs = per_repeat.assign(
        metric=BEST_EPOCH,
        # pandas-stubs refuse a list with None (a missing value), which pandas takes
        value=[None if epoch is None else epoch - PAPER_EPOCH_OFFSET for epoch in recorded],  # type: ignore[misc]
    )
    epochs = epochs[epochs["value"].notna()]
    return pd.concat([rows, epochs], ignore_index=True)
