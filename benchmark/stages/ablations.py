"""The paper's ablations: grids of settings, each point a run of its own, rows side by side.

``mlrc ablate NAME`` runs one grid on a protocol (the traditional one in the paper): every point
is the protocol with a few settings changed, trained in its own run directory
``<run_dir>/points/<slug>/`` (so each point resumes like any run, and on a cluster is one job),
and its rows are gathered into ``<run_dir>/results.csv`` with the columns ``ablation`` and
``ablation_value`` (a JSON object of the settings), which ``mlrc tables`` turns into Tables 4-6,
10-11 and Figure 3.

The grids themselves are :mod:`benchmark.config.ablation_grids`.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from benchmark.config import ProtocolConfig
from benchmark.config.ablation_grids import Ablation, AblationPlan, Setting, point_config
from benchmark.search.context import StudyContext
from benchmark.stages.pipeline import StagesOutcome, run_stages
from benchmark.store.results_file import ResultsFile
from benchmark.store.run_directory import RunDirectory


def run_ablation(
    plan: AblationPlan,
    losses: list[str],
    run_dir: RunDirectory,
    protocol: str,
    dataset: str,
    overrides: list[str],
    progress: bool = True,
    raise_budget: bool = False,
) -> dict[str, str]:
    """Run (or resume) the selected points of ``protocol`` on ``dataset`` (with ``overrides``;
    ``raise_budget`` lets them raise the points' budgets) and gather their rows into
    ``run_dir``'s results. Returns why each loss of a point gave no result, by
    ``<point>/<loss>`` (empty when every one did)."""
    failed = {}
    for index in plan.selected:
        slug, setting = plan.points[index]
        config = point_config(protocol, dataset, overrides, plan.ablation, setting, losses)
        point_dir = run_dir.point(slug)
        outcome = run_point(config, losses, point_dir, progress, raise_budget)
        failed.update({f"{slug}/{loss}": reason for loss, reason in outcome.failed.items()})
        gather_point(run_dir, plan.ablation, setting, point_dir)
    return failed


def run_point(
    config: ProtocolConfig,
    losses: list[str],
    point_dir: RunDirectory,
    progress: bool = True,
    raise_budget: bool = False,
) -> StagesOutcome:
    """Train every loss at one grid point (searching first when the protocol searches), in
    the same stage loop as a run (without the untrained baseline)."""
    context = StudyContext.create(
        config, point_dir, progress=progress, raise_budget=raise_budget, losses=losses
    )
    return run_stages(context, losses, untrained=False)


def gather_point(
    run_dir: RunDirectory, ablation: Ablation, setting: Setting, point_dir: RunDirectory
) -> int:
    """Append a finished point's rows to the ablation's results (once); returns rows added.
    Repeats gathered before the point's budget was raised (their ``n_trials`` differs from the
    point's own rows now) are replaced."""
    rows = ResultsFile(point_dir).read()
    if rows.empty:
        return 0
    value = json.dumps(setting, sort_keys=True)
    rows = rows.assign(ablation=ablation.name, ablation_value=value)
    _drop_superseded(ResultsFile(run_dir), rows, ablation.name, value)
    records = [
        {str(key): (None if _missing(value) else value) for key, value in record.items()}
        for record in rows.to_dict("records")
    ]
    return ResultsFile(run_dir).append(records)


def _drop_superseded(gathered: ResultsFile, rows: pd.DataFrame, name: str, value: str) -> None:
    """Drop the gathered repeats of this point whose budget is no longer the point's."""
    gathered.repair()
    before = gathered.read()
    before = before[(before["ablation"] == name) & (before["ablation_value"] == value)]
    now = dict(zip(zip(rows["loss"], rows["repeat"], strict=True), rows["n_trials"], strict=True))
    stale: dict[str, set[int]] = {}
    for loss, repeat, budget in zip(
        before["loss"], before["repeat"], before["n_trials"], strict=True
    ):
        if now.get((loss, repeat), budget) != budget:
            stale.setdefault(loss, set()).add(int(repeat))
    for loss, repeats in stale.items():
        gathered.drop_repeats(loss, repeats, value)


def _missing(value: Any) -> bool:
    return not isinstance(value, str) and pd.isna(value)
