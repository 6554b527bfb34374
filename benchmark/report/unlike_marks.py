"""Marks of the cells that ran unlike the rest of their family: under another budget, or in a
run made with other settings.

A table compares only like with like: every setting that shapes results is fixed per run
directory, except the study budget, which a run may raise (``--raise-budget``) and whose rows
record it (``n_trials``). Where the cells compared with each other (a column of Table 1, a row of
an ablation) were searched under different budgets, each cell off its family's usual budget is
marked with its own (``2 trials``), and a note says what that means. Rows from files that
predate the column have an unknown budget: marked only beside known ones. Losses whose
parameters were not searched (published, the protocol's, the untrained baseline) are not
compared. Cells from a run made with other settings than the first run of their protocol and
dataset (shown only with ``mlrc tables --allow-mixed-settings``) are marked with them
(``trunk_lr=0.01``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable

import pandas as pd

from benchmark.report.latex import escape_latex
from benchmark.report.summary import BUDGET, SETTINGS
from benchmark.report.table_model import Note
from benchmark.store.results_file import SEARCHED, UNTRAINED

UNLIKE_BUDGET = "unlike_budget"
"""The CSV column saying a cell's budget differs from its family's usual one."""


def budget_marks(frame: pd.DataFrame, compare_within: tuple[str, ...]) -> dict[Hashable, str]:
    """``k trials`` for each searched cell whose budget is not its family's usual one, and for
    each cell whose repeats were searched under several budgets."""
    marks: dict[Hashable, str] = {}
    if BUDGET not in frame or frame.empty:
        return marks
    searched = frame[(frame["params_source"] == SEARCHED) & (frame["loss"] != UNTRAINED)]
    for _, family in searched.groupby(list(compare_within), sort=False, dropna=False):
        budgets = family[BUDGET]
        mixed = budgets.str.contains("|", regex=False)
        if budgets.nunique() < 2 and not mixed.any():
            continue
        usual = _usual_budget(budgets[~mixed]) if (~mixed).any() else None
        for index, budget in budgets.items():
            if budget != usual:  # another budget, or repeats under several
                marks[index] = budget_mark(budget)
    return marks


def settings_marks(frame: pd.DataFrame) -> dict[Hashable, str]:
    """The settings a cell's run was made with unlike the table's other runs, where any."""
    if SETTINGS not in frame:
        return {}
    return {index: text for index, text in frame[SETTINGS].items() if text}


def settings_note() -> Note:
    """What a settings mark means."""
    text = (
        "from a run made with that setting, unlike the other runs of this table: not a "
        "like-for-like comparison (shown together by request)."
    )
    return Note(
        f"(setting=value): {text}", rf"\textsuperscript{{setting=value}}: {escape_latex(text)}"
    )


def budget_mark(budget: str) -> str:
    """``5 trials``, ``2/5 trials`` (repeats searched under both), ``trials unknown``."""
    if not budget:
        return "trials unknown"
    return budget.replace("|", "/").replace("?", "unknown") + " trials"


def budget_note(family: str) -> Note:
    """What a budget mark means, and how to make the comparison fair."""
    text = (
        "its loss's hyperparameters were searched with k Optuna trials, unlike the rest of its "
        f"{family}: not a like-for-like comparison; raise the run's budget for all its losses "
        "to compare them"
    )
    return Note(
        f"(k trials): {text} (`mlrc run --raise-budget`).",
        rf"\textsuperscript{{k trials}}: {escape_latex(text)} (\texttt{{mlrc run -{{}}-raise-budget}}).",
    )


def with_unlike_columns(frame: pd.DataFrame, marks: dict[Hashable, str]) -> pd.DataFrame:
    """``frame`` with its cells' budgets and whether each is marked (``marks``: the budget
    marks), when any budget is known, and the settings of runs made unlike the others, when
    any; a table from files without budgets, of runs made alike, keeps its columns."""
    dropped = []
    if BUDGET in frame and (frame[BUDGET] != "").any():
        frame = frame.assign(**{UNLIKE_BUDGET: [index in marks for index in frame.index]})
    else:
        dropped.append(BUDGET)
    if not (SETTINGS in frame and (frame[SETTINGS] != "").any()):
        dropped.append(SETTINGS)
    return frame.drop(columns=dropped, errors="ignore")


UNLIKE_COLUMNS = (BUDGET, UNLIKE_BUDGET, SETTINGS)
"""The CSV columns of the above, in order, where present."""


def _usual_budget(budgets: pd.Series) -> str:
    """The most frequent budget of a family; on a tie a known one, then the largest."""
    counts = Counter(budgets)
    return max(counts, key=lambda text: (counts[text], text != "", _size(text)))


def _size(budget: str) -> int:
    return max((int(part) for part in budget.split("|") if part.isdigit()), default=0)
