"""``mlrc run``: study -> retrain -> table for several losses on one dataset."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from benchmark.config import ProtocolConfig
from benchmark.errors import StudyFailed, TrainingDiverged
from benchmark.losses import get_loss_spec, list_losses
from benchmark.losses.search_space import load_search_space
from benchmark.report import format_results_table
from benchmark.study.baseline import UNTRAINED, run_untrained
from benchmark.study.context import StudyContext
from benchmark.study.fixed_params import fixed_params, searches
from benchmark.study.optimize import run_worker
from benchmark.study.repeats import results_file
from benchmark.study.retrain import run_retrain

_logger = logging.getLogger(__name__)


def resolve_losses(selection: str | None, config: ProtocolConfig) -> list[str]:
    """``a,b,c`` -> those losses; ``all`` -> every registered loss; None/``demo`` -> the
    protocol's ``demo_losses`` (all losses if it lists none). Unknown names, broken search
    spaces and missing fixed hyperparameters raise now, not after hours of training."""
    if selection in (None, "", "demo"):
        names = config.demo_losses or [spec.name for spec in list_losses()]
    elif selection == "all":
        names = [spec.name for spec in list_losses()]
    else:
        names = [name.strip() for name in selection.split(",") if name.strip()]
    for name in names:
        load_search_space(get_loss_spec(name), config.dataset)
        fixed_params(config, name)
    return names


def default_run_dir(config: ProtocolConfig) -> Path:
    """``results/runs/<protocol>-<dataset>``, with the published source when one is used."""
    name = f"{config.name}-{config.dataset}"
    if config.study.params_from is not None:
        name += f"-{Path(config.study.params_from).stem}"
    return Path("results") / "runs" / name


def run_benchmark(context: StudyContext, losses: list[str]) -> str:
    """Run every stage for ``losses``; finished stages are skipped. Returns the table.

    Each loss is searched (its study) then retrained, or, with ``study.params_from`` or a
    protocol that searches nothing, retrained with those fixed hyperparameters.
    """
    run_untrained(context)
    for loss in losses:
        try:
            if searches(context.config):
                run_worker(context, loss)
            run_retrain(context, loss)
        except (StudyFailed, TrainingDiverged) as exc:  # one loss must not stop the comparison
            _logger.warning("skipping %s: %s", loss, exc)
    return write_table(context, [*losses, UNTRAINED])


def write_table(context: StudyContext, losses: list[str] | None = None) -> str:
    """Render the summary table of the run (optionally only some losses) to table.md."""
    rows = results_file(context.run_dir).read()
    if losses is not None:
        rows = rows[rows["loss"].isin(losses)]
        order = {name: i for i, name in enumerate(losses)}
        rows = rows.sort_values("loss", key=lambda s: s.map(order), kind="stable")
    config = context.config
    title = f"**{config.name} protocol, {config.dataset}**\n\n"
    table = title + format_results_table(pd.DataFrame(rows), confidence=config.retrain.confidence)
    context.run_dir.table_path.write_text(table + "\n")
    return table
