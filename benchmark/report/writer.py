"""``mlrc tables``: every table and figure of one or more runs, written to one folder.

Tables come from the merged result rows (md, tex and csv of each from one summary frame);
figures come from what each run directory holds (learning curves, Optuna studies) and from
the ablation rows. Whatever is absent is skipped and said so, never an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from benchmark.errors import ConfigError
from benchmark.report.figure_outcome import FigureOutcome
from benchmark.report.labels import (
    BEST_EPOCH,
    dataset_label,
    file_slug,
    is_known_metric,
)
from benchmark.report.latex import TABLES_DOCUMENT, document_to_latex, tables_document
from benchmark.report.markdown import document_to_markdown, table_to_markdown
from benchmark.report.mlrc_table import mlrc_tables
from benchmark.report.paper_tables import (
    ablation_tables,
    full_tables,
    main_document,
    table1,
    traditional_table,
)
from benchmark.report.reference import read_reference_csv, reference_document
from benchmark.report.run_settings import tag_unlike_runs
from benchmark.report.runtime_table import read_profile_csv, runtime_document
from benchmark.report.sources import ResultsSource, merge_rows, read_source, run_identity
from benchmark.report.summary import summarize_results, with_best_epoch_rows
from benchmark.report.table_model import TableDocument
from benchmark.store.results_file import MAP_AT_R, METRIC_NAMES

DEFAULT_CONFIDENCE = 0.95
CSV_FLOAT_FORMAT = "%.10g"


@dataclass
class ReportListing:
    """What a report run produced: the main table (Markdown), files written, figures skipped."""

    main_table: str
    written: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    page: Path | None = None
    """The results page (``index.html``) when one was asked for."""

    def format(self, out_dir: Path) -> str:
        lines = [f"written to {out_dir}/:"]
        stems: dict[str, list[str]] = {}
        for path in self.written:
            stems.setdefault(path.stem, []).append(path.suffix.lstrip("."))
        for stem, suffixes in stems.items():
            extensions = suffixes[0] if len(suffixes) == 1 else "{" + ",".join(suffixes) + "}"
            lines.append(f"  {stem}.{extensions}")
        if self.skipped:
            lines.append("skipped:")
            lines += [f"  {reason}" for reason in self.skipped]
        if self.page is not None:
            lines.append(f"results page: {self.page}")
        return "\n".join(lines)


def check_metrics(metrics: Sequence[str], rows: pd.DataFrame) -> tuple[str, ...]:
    """The --metrics of Table 1: known names, or names present in the rows."""
    present = set(rows["metric"]) if len(rows) else set()
    chosen = tuple(dict.fromkeys(m.strip() for m in metrics if m.strip()))
    for metric in chosen or ("",):
        if metric == BEST_EPOCH or not (is_known_metric(metric) or metric in present):
            known = sorted(set(METRIC_NAMES) | (present - {BEST_EPOCH}))
            raise ConfigError(
                f"unknown metric '{metric}' in --metrics; choose from {', '.join(known)} "
                "(recall_at_<k> for traditional-protocol rows), comma-separated"
            )
    return chosen


def build_documents(
    summary: pd.DataFrame,
    metrics: tuple[str, ...],
    reference: pd.DataFrame | None = None,
    profile: pd.DataFrame | None = None,
) -> list[TableDocument]:
    """Every table the summary (and the optional reference and profile rows) supports."""
    documents = []
    main = table1(summary, metrics)
    if main is not None:
        documents.append(main)
    documents += full_tables(summary)
    documents += mlrc_tables(summary)
    documents += traditional_table(summary)
    documents += ablation_tables(summary)
    if reference is not None:
        documents.append(reference_document(summary, reference))
    if profile is not None:
        documents.append(runtime_document(profile))
    return documents


def write_document(document: TableDocument, out_dir: Path) -> list[Path]:
    """``<stem>.md``, ``<stem>.tex`` and ``<stem>.csv``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{document.stem}.{suffix}" for suffix in ("md", "tex", "csv")]
    paths[0].write_text(document_to_markdown(document.tables))
    paths[1].write_text(document_to_latex(document.tables))
    paths[2].write_text(
        document.frame.to_csv(index=False, float_format=CSV_FLOAT_FORMAT, lineterminator="\n")
    )
    return paths


def write_tables_document(documents: list[TableDocument], out_dir: Path) -> Path:
    """``tables.tex``: one LaTeX document that inputs every table written (it compiles as is)."""
    path = out_dir / TABLES_DOCUMENT
    path.write_text(tables_document([f"{document.stem}.tex" for document in documents]))
    return path


def write_report(
    sources: Sequence[Path],
    out_dir: Path,
    metrics: Sequence[str] = (MAP_AT_R,),
    reference_csv: Path | None = None,
    profile_csv: Path | None = None,
    confidence: float | None = None,
    figures: bool = True,
    html_dir: Path | None = None,
    allow_mixed_settings: bool = False,
) -> ReportListing:
    """Read ``sources``, write every table and figure to ``out_dir``, and list them; with
    ``html_dir``, also the results page of the runs there (see
    :mod:`benchmark.report.results_page`). Runs of one protocol and dataset made with other
    settings are refused, unless ``allow_mixed_settings`` (then marked:
    :mod:`benchmark.report.run_settings`)."""
    results = [read_source(Path(path)) for path in sources]
    results = tag_unlike_runs(results, allow_mixed_settings)
    rows = merge_rows(results)
    chosen = check_metrics(metrics, rows)
    confidence = confidence or recorded_confidence(results)
    reference = read_reference_csv(reference_csv) if reference_csv else None
    profile = read_profile_csv(profile_csv) if profile_csv else None
    summary = summarize_results(with_best_epoch_rows(rows), confidence)
    documents = build_documents(summary, chosen, reference, profile)

    listing = ReportListing(_main_table(documents))
    for document in documents:
        listing.written += write_document(document, out_dir)
    if documents:
        listing.written.append(write_tables_document(documents, out_dir))
    if figures and len(rows):
        from benchmark.report.ablation_figures import alpha_base_figure, embedding_dim_figure

        outcomes = _run_figures(results, out_dir, confidence)
        outcomes += [embedding_dim_figure(summary, out_dir), alpha_base_figure(summary, out_dir)]
        for outcome in outcomes:
            if outcome.path is not None:
                listing.written.append(outcome.path)
            else:
                listing.skipped.append(outcome.skipped)
    if html_dir is not None:
        from benchmark.report.results_page import write_results_page

        listing.page = write_results_page(
            html_dir, documents, results, listing.written, listing.skipped, figures
        )
    return listing


def recorded_confidence(results: Sequence[ResultsSource]) -> float:
    """The confidence level the runs recorded (``retrain.confidence`` in run.json)."""
    levels = {}
    for source in results:
        if source.run_dir is None:
            continue
        level = ((source.manifest.get("protocol") or {}).get("retrain") or {}).get("confidence")
        if level is not None:
            levels[source.run_dir] = float(level)
    if len(set(levels.values())) > 1:
        shown = ", ".join(f"{path}: {level}" for path, level in levels.items())
        raise ConfigError(
            f"the runs were made with different confidence levels ({shown}); "
            "choose one with --confidence"
        )
    return next(iter(levels.values()), DEFAULT_CONFIDENCE)


def _main_table(documents: list[TableDocument]) -> str:
    """The main table in Markdown (one per metric of --metrics), else the first one written."""
    main = main_document(documents)
    if main is not None:
        return document_to_markdown(main.tables).rstrip("\n")
    first = next(iter(documents), None)
    return table_to_markdown(first.tables[0]) if first else "(no results yet)"


def _run_figures(
    results: Sequence[ResultsSource], out_dir: Path, confidence: float
) -> list[FigureOutcome]:
    if all(source.run_dir is None for source in results):
        return []  # results files only: no run directory to draw from
    # matplotlib (and the Optuna storage) are imported only when figures are drawn.
    from benchmark.report.learning_curves import learning_curve_figure
    from benchmark.report.optuna_figures import optuna_figures

    outcomes: list[FigureOutcome] = []
    used: set[str] = set()
    for source in results:
        if source.run_dir is None:
            continue
        stem = _run_stem(source, used)
        outcomes.append(
            learning_curve_figure(
                source.run_dir, source.rows, out_dir / f"curves_{stem}.png", confidence
            )
        )
        outcomes += optuna_figures(
            source.run_dir,
            source.manifest.get("storage"),
            out_dir / f"optuna_history_{stem}.png",
            out_dir / f"optuna_importance_{stem}.png",
            _study_prefix(source.rows),
            _panel_titles(source.rows),
        )
    return outcomes


def _study_prefix(rows: pd.DataFrame) -> str:
    """``<protocol>.<dataset>.``: the start of the names of a run's studies."""
    identity = run_identity(rows)
    return f"{identity[0]}.{identity[1]}." if identity else ""


def _panel_titles(rows: pd.DataFrame) -> dict[str, str]:
    """loss -> ``CUB · ProxyAnch.``: how a figure panel names a run's study of that loss."""
    return {
        loss: f"{dataset_label(dataset)} · {display}"
        for loss, dataset, display in zip(
            rows["loss"], rows["dataset"], rows["display"], strict=True
        )
    }


def _run_stem(source: ResultsSource, used: set[str]) -> str:
    """``<protocol>_<dataset>`` of a run directory; its folder name is added if taken."""
    assert source.run_dir is not None  # figures are drawn for run directories only
    identity = run_identity(source.rows)
    stem = file_slug("_".join(identity) if identity else source.run_dir.name)
    if stem in used:
        stem = f"{stem}_{file_slug(source.run_dir.name)}"
    used.add(stem)
    return stem
