"""The summary table of a run (``table.md``, printed by ``mlrc run``, ``mlrc ablate`` and
``mlrc tables``)."""

from __future__ import annotations

import pandas as pd

from benchmark.config import ProtocolConfig
from benchmark.report.markdown import table_to_markdown
from benchmark.report.paper_tables import (
    ablation_tables,
    main_document,
    table1,
    traditional_table,
)
from benchmark.report.summary import summarize_results, with_best_epoch_rows
from benchmark.store.results_file import MAP_AT_R, ResultsFile, normalize_rows
from benchmark.store.run_directory import RunDirectory


def format_results_table(rows: pd.DataFrame, confidence: float = 0.95, title: bool = True) -> str:
    """The main table of ``rows`` in Markdown: Table 1 (separated and concatenated
    evaluations), else Tables 2-3 (single models: MAP@R and their epoch). One row per loss
    (paper order), cells "mean ± CI half-width" in percent, the best in bold, not-worse in
    italics; its title (``title``) says what it shows and what ± means."""
    if not len(rows):
        return "(no results yet)"
    rows = normalize_rows(rows)
    summary = summarize_results(with_best_epoch_rows(rows), confidence)
    candidates = [table1(summary, (MAP_AT_R,)), *traditional_table(summary)]
    document = main_document([d for d in candidates if d is not None])
    if document is None:
        return "(no results yet)"
    return table_to_markdown(document.tables[0], title=title)


def format_ablation_table(rows: pd.DataFrame, ablation: str, confidence: float = 0.95) -> str:
    """The table of ablation ``ablation`` in Markdown (MAP@R per setting, per loss)."""
    rows = normalize_rows(rows) if len(rows) else rows
    if not len(rows) or not (rows["ablation"] == ablation).any():
        return "(no results yet)"
    summary = summarize_results(rows[rows["ablation"] == ablation], confidence)
    documents = ablation_tables(summary)
    return table_to_markdown(documents[0].tables[0]) if documents else "(no results yet)"


def write_run_table(
    run_dir: RunDirectory, config: ProtocolConfig, losses: list[str] | None = None
) -> str:
    """Render the run's summary table (optionally of ``losses`` only, in that order) with its
    title, at the protocol's confidence level, to ``table.md``; returns it."""
    rows = ResultsFile(run_dir).read()
    if losses is not None:
        rows = rows[rows["loss"].isin(losses)]
        order = {name: i for i, name in enumerate(losses)}
        rows = rows.sort_values("loss", key=lambda s: s.map(order), kind="stable")
    table = format_results_table(rows, confidence=config.retrain.confidence)
    run_dir.table_path.write_text(table + "\n")
    return table


def write_ablation_table(run_dir: RunDirectory, ablation: str, config: ProtocolConfig) -> str:
    """Render the table of ablation ``ablation`` from the run's rows, at the protocol's
    confidence level, to ``table.md``; returns it."""
    rows = ResultsFile(run_dir).read()
    table = format_ablation_table(rows, ablation, confidence=config.retrain.confidence)
    run_dir.table_path.write_text(table + "\n")
    return table
