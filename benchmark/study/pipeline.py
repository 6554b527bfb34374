"""``mlrc run``: study -> retrain -> table for several losses on one dataset."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from benchmark.config import ProtocolConfig
from benchmark.errors import StudyFailed, TrainingDiverged
from benchmark.losses import get_loss_spec, list_losses
from benchmark.losses.search_space import load_search_space
from benchmark.report import format_results_table
from benchmark.study.cross_validation import CrossValidation
from benchmark.study.retrain import UNTRAINED, results_file, run_retrain, run_untrained
from benchmark.study.run_dir import RunDirectory
from benchmark.study.storage import open_storage
from benchmark.study.worker import run_worker


def resolve_losses(selection: str | None, config: ProtocolConfig) -> list[str]:
    """``a,b,c`` -> those losses; ``all`` -> every registered loss; None/``demo`` -> the
    protocol's ``demo_losses`` (all losses if it lists none). Unknown names raise."""
    if selection in (None, "", "demo"):
        names = config.demo_losses or [spec.name for spec in list_losses()]
    elif selection == "all":
        names = [spec.name for spec in list_losses()]
    else:
        names = [name.strip() for name in selection.split(",") if name.strip()]
    for name in names:
        load_search_space(get_loss_spec(name))  # fail now, not after hours of training
    return names


def default_run_dir(config: ProtocolConfig) -> Path:
    return Path("results") / "runs" / f"{config.name}-{config.dataset}"


def run_benchmark(
    config: ProtocolConfig,
    losses: list[str],
    run_dir: RunDirectory,
    storage_url: str | None = None,
    plugins: list[str] | None = None,
    progress: bool = True,
) -> str:
    """Run every stage for ``losses``; finished stages are skipped. Returns the table."""
    open_storage(storage_url, run_dir.journal_path)  # an unreachable storage fails first
    cv = CrossValidation(config, progress=progress)  # so does a missing or broken dataset
    run_dir.initialise(config, plugins or [], storage_url)
    run_untrained(run_dir, progress=progress, cv=cv)
    for loss in losses:
        run_worker(run_dir, loss, storage_url, progress=progress, cv=cv)
        try:
            run_retrain(run_dir, loss, storage_url, progress=progress, cv=cv)
        except (StudyFailed, TrainingDiverged) as exc:  # one loss must not stop the comparison
            tqdm.write(f"warning: skipping {loss}: {exc}")
    return write_table(run_dir, [*losses, UNTRAINED])


def write_table(run_dir: RunDirectory, losses: list[str] | None = None) -> str:
    """Render the summary table of ``run_dir`` (optionally only some losses) to table.md."""
    rows = results_file(run_dir).read()
    if losses is not None:
        rows = rows[rows["loss"].isin(losses)]
        order = {name: i for i, name in enumerate(losses)}
        rows = rows.sort_values("loss", key=lambda s: s.map(order), kind="stable")
    config = run_dir.protocol()
    title = f"**{config.name} protocol, {config.dataset}**\n\n"
    table = title + format_results_table(pd.DataFrame(rows), confidence=config.retrain.confidence)
    run_dir.table_path.write_text(table + "\n")
    return table
