"""What ``mlrc profile pruners`` prints: every study against its unpruned twin, then one
summary per pruner (:mod:`benchmark.profiling.pruner_comparison` measures them)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmark.profiling.pruner_comparison import GOAL_EPOCHS_SAVED


def summarize_pruners(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per pruner: epochs, wall time and fold trainings against the unpruned studies (summed
    over its studies), and in how many studies its answer was the same configuration, within
    the unpruned retrain's interval, and the goal met."""
    summary = []
    for spec in dict.fromkeys(row["pruner"] for row in rows):
        mine = [row for row in rows if row["pruner"] == spec]
        summary.append(
            {
                "pruner": spec,
                "studies": len(mine),
                **_totals(mine, "epochs"),
                **_totals(mine, "search_wall_time_s"),
                **_totals(mine, "fold_trainings"),
                "same_best": sum(row["same_best"] for row in mine),
                "within_unpruned_ci": sum(row["within_unpruned_ci"] for row in mine),
                "goal_met": sum(row["goal_met"] for row in mine),
                "best_val_difference": _mean_difference(mine, "best_val_map_at_r"),
                "test_difference": _mean_difference(mine, "test_map_at_r"),
            }
        )
    return summary


def _totals(rows: Sequence[dict[str, Any]], key: str) -> dict[str, float]:
    run = sum(row[key] for row in rows)
    unpruned = sum(row[f"{key}_unpruned"] for row in rows)
    return {
        key: run,
        f"{key}_unpruned": unpruned,
        f"{key}_saved": 1.0 - run / unpruned if unpruned else math.nan,
    }


def _mean_difference(rows: Sequence[dict[str, Any]], key: str) -> float:
    return float(np.mean([row[key] - row[f"{key}_unpruned"] for row in rows]))


def format_pruner_table(rows: Sequence[dict[str, Any]]) -> str:
    """Every study, then one summary line per pruner."""
    header = (
        f"{'loss':<13} {'seed':>4} {'pruner':<30} {'pruned':>6} {'epochs':>9} {'saved':>5} "
        f"{'wall s':>11} {'best val':>8} {'test':>6} {'unpruned test [95% CI]':>24} "
        f"{'same':>4} {'in CI':>5} {'goal':>4}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        ci = "{:.4f} [{:.4f}, {:.4f}]".format(
            r["test_map_at_r_unpruned"], r["unpruned_ci_low"], r["unpruned_ci_high"]
        )
        pruned = "{}/{}".format(r["pruned"], r["trials"])
        epochs = "{}/{}".format(r["epochs"], r["epochs_unpruned"])
        wall = "{:.0f}/{:.0f}".format(r["search_wall_time_s"], r["search_wall_time_s_unpruned"])
        lines.append(
            f"{r['loss']:<13} {r['seed']:>4} {r['pruner']:<30} {pruned:>6} {epochs:>9} "
            f"{_percent(r['epochs_saved']):>5} {wall:>11} {r['best_val_map_at_r']:>8.4f} "
            f"{r['test_map_at_r']:>6.4f} {ci:>24} {_yes(r['same_best']):>4} "
            f"{_yes(r['within_unpruned_ci']):>5} {_yes(r['goal_met']):>4}"
        )
    lines += [
        "",
        f"per pruner (over every loss and seed; goal: >= {GOAL_EPOCHS_SAVED:.0%} of the "
        "epochs saved and the retrained test MAP@R within the unpruned 95% interval):",
    ]
    for s in summarize_pruners(rows):
        lines.append(
            f"  {s['pruner']}: {s['epochs']}/{s['epochs_unpruned']} epochs "
            f"({_percent(s['epochs_saved'])} saved), wall time {_percent(s['search_wall_time_s_saved'])} "
            f"saved, {s['fold_trainings']}/{s['fold_trainings_unpruned']} fold trainings "
            f"finished; same best configuration in {s['same_best']}/{s['studies']} studies, "
            f"retrained test MAP@R within the unpruned 95% interval in "
            f"{s['within_unpruned_ci']}/{s['studies']}, goal met in {s['goal_met']}/"
            f"{s['studies']}; mean difference: best val {s['best_val_difference']:+.4f}, "
            f"test {s['test_difference']:+.4f}"
        )
    return "\n".join(lines)


def _percent(fraction: float) -> str:
    return "-" if math.isnan(fraction) else f"{100 * fraction:.0f}%"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
