"""``mlrc tables --html DIR``: the results page of a run or a comparison, one static site.

::

    DIR/index.html   the page: tables, figures, and per run its settings, cost and studies
    DIR/tables/      every table's md, tex and csv (and tables.tex), as `mlrc tables` wrote them
    DIR/figures/     the figures `mlrc tables` drew
    DIR/studies/     one optimisation-history plot per loss of each run

The tables are the documents `mlrc tables` writes, rendered from the same table model by
:mod:`benchmark.report.html`; runs are read through the store. Every link is relative and
nothing is fetched at view time, so the folder opens from ``file://`` or any web server.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from benchmark.errors import BenchmarkError
from benchmark.io import atomic_write_text
from benchmark.report.labels import dataset_label, file_slug, loss_label, protocol_label
from benchmark.report.latex import TABLES_DOCUMENT
from benchmark.report.optuna_figures import history_figure
from benchmark.report.page_sections import (
    cost_html,
    figures_html,
    settings_html,
    study_html,
    tables_html,
)
from benchmark.report.page_template import note, page, section
from benchmark.report.sources import ResultsSource, run_identity
from benchmark.report.study_trials import NO_STUDY_DATA, loss_studies, read_run_trials
from benchmark.report.table_model import TableDocument
from benchmark.store.run_cost import cost_of_run
from benchmark.store.run_directory import RunDirectory, code_version

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

PAGE_FILE = "index.html"
TABLES_DIR = "tables"
FIGURES_DIR = "figures"
STUDIES_DIR = "studies"
TABLE_SUFFIXES = (".md", ".tex", ".csv")
# What a figure shows, by the start of its file name (the rest names the run).
FIGURE_CAPTIONS = {
    "curves_": "Learning curves: validation MAP@R of the retrained models per epoch",
    "optuna_history_": "Optimisation history of the studies",
    "optuna_importance_": "Hyperparameter importances (fANOVA)",
    "figure3a_embedding_dim": "Figure 3a: MAP@R per embedding dimension",
    "figure3b_alpha_base": "Figure 3b: MAP@R over α and base",
}
NO_MANIFEST = "no run.json in this folder: the protocol settings and the code version are unknown"


def write_results_page(
    html_dir: Path,
    documents: Sequence[TableDocument],
    sources: Sequence[ResultsSource],
    written: Sequence[Path],
    skipped: Sequence[str],
    figures: bool = True,
) -> Path:
    """Write the site into ``html_dir`` and return its ``index.html``. ``written`` are the
    files `mlrc tables` wrote (tables and figures, copied into the site), ``skipped`` the
    figures it did not draw and why; ``figures`` False draws no history plots either."""
    html_dir.mkdir(parents=True, exist_ok=True)
    table_files = _copy([p for p in written if p.suffix in TABLE_SUFFIXES], html_dir, TABLES_DIR)
    drawn = [p for p in written if p.suffix == ".png"]
    shown = [
        (src, _figure_caption(name)) for name, src in _copy(drawn, html_dir, FIGURES_DIR).items()
    ]
    if figures:
        shown += _found_figures(sources, {p.name for p in drawn}, html_dir)
    body = [
        section("tables", "Tables", _tables_body(documents, table_files)),
        section("figures", "Figures", _figures_body(shown, skipped, figures)),
    ]
    nav = [("tables", "Tables"), ("figures", "Figures")]
    for number, source in enumerate(sources, start=1):
        anchor, heading = f"run-{number}", _run_heading(source)
        body.append(section(anchor, heading, _run_body(source, anchor, html_dir, figures)))
        nav.append((anchor, heading))
    footer = (
        f"Written by <code>mlrc tables --html</code> (mlrc-benchmark "
        f"{escape(code_version())}). A static page: no script, nothing fetched from a network."
    )
    index = html_dir / PAGE_FILE
    atomic_write_text(
        index, page(_title(sources), _subtitle(sources), nav, "\n".join(body), footer)
    )
    return index


def _copy(
    paths: Sequence[Path], html_dir: Path, folder: str, names: dict[str, str] | None = None
) -> dict[str, str]:
    """Copy ``paths`` into ``html_dir/folder`` (``names``: file name -> the copy's name);
    file name -> the copy's path relative to the page."""
    target = html_dir / folder
    target.mkdir(exist_ok=True)
    copied = {}
    for path in paths:
        name = (names or {}).get(path.name, path.name)
        if (target / name).resolve() != path.resolve():
            shutil.copyfile(path, target / name)
        copied[path.name] = f"{folder}/{name}"
    return copied


def _tables_body(documents: Sequence[TableDocument], table_files: dict[str, str]) -> str:
    if not documents:
        return note("no results yet: no table to show")
    parts = []
    if TABLES_DOCUMENT in table_files:
        parts.append(
            f'<p class="downloads">Every table in one LaTeX document: '
            f'<a href="{escape(table_files[TABLES_DOCUMENT])}">{TABLES_DOCUMENT}</a></p>'
        )
    for document in documents:
        downloads = [
            (suffix.lstrip("."), table_files[name])
            for suffix in TABLE_SUFFIXES
            if (name := f"{document.stem}{suffix}") in table_files
        ]
        body = tables_html(document, downloads)
        parts.append(section(f"doc-{document.stem}", document.stem, body, level=3))
    return "\n".join(parts)


def _found_figures(
    sources: Sequence[ResultsSource], drawn: set[str], html_dir: Path
) -> list[tuple[str, str]]:
    """The figures a results folder (one without run.json, like ``results/example``) holds
    from the `mlrc tables` that made it, where this one drew none of that name: such a folder
    keeps no curves and no storage to draw them again. (relative path, caption) each."""
    found = []
    for source in sources:
        if source.run_dir is None or source.manifest:
            continue
        for path in sorted(source.run_dir.glob("*.png")):
            if path.name in drawn or not path.stem.startswith(tuple(FIGURE_CAPTIONS)):
                continue
            name = f"{file_slug(source.run_dir.name)}_{path.name}"
            (src,) = _copy([path], html_dir, FIGURES_DIR, {path.name: name}).values()
            found.append((src, f"{_figure_caption(path.name)}, as found in {source.run_dir}"))
    return found


def _figures_body(shown: list[tuple[str, str]], skipped: Sequence[str], drawn: bool) -> str:
    if not drawn:
        return note("figures not drawn (--no-figures)")
    if not shown and not skipped:
        return note("no figure: these sources hold no rows to draw")
    return figures_html(shown, list(skipped))


def _figure_caption(file_name: str) -> str:
    stem = Path(file_name).stem
    for prefix, caption in FIGURE_CAPTIONS.items():
        if stem.startswith(prefix):
            rest = stem.removeprefix(prefix).strip("_")
            return f"{caption} ({rest})" if rest else caption
    return stem


def _run_body(source: ResultsSource, anchor: str, html_dir: Path, figures: bool) -> str:
    """A run's settings and code version, its cost, and each loss's study."""
    manifest = source.manifest
    trials = read_run_trials(source.run_dir, manifest.get("storage"))
    displays = _displays(source)
    settings = settings_html(manifest) if manifest else note(NO_MANIFEST)
    studies = _studies_body(source, trials, anchor, html_dir, figures, displays)
    return "\n".join(
        [
            f'<p class="sources">{escape(str(source.run_dir or "a results CSV file"))}</p>',
            section(f"{anchor}-settings", "Settings and code version", settings, 3),
            section(f"{anchor}-cost", "Cost", _cost_body(source, trials, displays), 3),
            section(f"{anchor}-studies", "Studies", studies, 3),
        ]
    )


def _cost_body(
    source: ResultsSource, trials: Mapping[str, list[FrozenTrial]] | str, displays: dict[str, str]
) -> str:
    """Device-hours spent and left, as ``mlrc status`` prices them, or why they are unknown."""
    if not source.manifest:
        return note("no run.json in this folder: what the run cost is unknown")
    if isinstance(trials, str):
        return note(f"cost unknown: {trials}")
    assert source.run_dir is not None  # a run.json is read from a run directory
    try:
        return cost_html(cost_of_run(RunDirectory(source.run_dir), trials=trials), displays)
    except BenchmarkError as exc:
        return note(f"cost unknown: {exc}")


def _studies_body(
    source: ResultsSource,
    trials: Mapping[str, list[FrozenTrial]] | str,
    anchor: str,
    html_dir: Path,
    figures: bool,
    displays: dict[str, str],
) -> str:
    if isinstance(trials, str):
        return note(trials)
    protocol = source.manifest.get("protocol") or {}
    n_folds = (protocol.get("data") or {}).get("n_folds")
    studies = loss_studies(trials, _study_prefix(source), n_folds)
    if not studies:
        return note(NO_STUDY_DATA)
    parts = []
    for study in studies:
        display = displays.get(study.loss, loss_label(study.loss))
        if figures:
            name = f"history_{anchor}_{file_slug(study.loss)}.png"
            history_figure([(display, study.trials)], html_dir / STUDIES_DIR / name)
            history = (f"{STUDIES_DIR}/{name}", f"Optimisation history of {display}")
        else:
            history = "optimisation history not drawn (--no-figures)"
        body = study_html(study, display, history)
        parts.append(section(f"{anchor}-study-{file_slug(study.loss)}", display, body, 4))
    return "\n".join(parts)


def _study_prefix(source: ResultsSource) -> str:
    """``<protocol>.<dataset>.``: the start of the names of a run's studies."""
    protocol = source.manifest.get("protocol") or {}
    if protocol.get("name") and protocol.get("dataset"):
        return f"{protocol['name']}.{protocol['dataset']}."
    identity = run_identity(source.rows) if len(source.rows) else None
    return f"{identity[0]}.{identity[1]}." if identity else ""


def _displays(source: ResultsSource) -> dict[str, str]:
    """loss -> its table label, from the run's rows."""
    rows = source.rows
    return dict(zip(rows["loss"], rows["display"], strict=True)) if len(rows) else {}


def _identity_words(rows: pd.DataFrame) -> str:
    identity = run_identity(rows) if len(rows) else None
    if identity is None:
        return ""
    protocol, dataset = identity
    return f"{protocol_label(protocol)} protocol on {dataset_label(dataset)}"


def _run_heading(source: ResultsSource) -> str:
    name = source.run_dir.name if source.run_dir is not None else "results CSV"
    words = _identity_words(source.rows)
    return f"Run {name}" + (f" · {words}" if words else "")


def _title(sources: Sequence[ResultsSource]) -> str:
    if len(sources) > 1:
        return f"Results: a comparison of {len(sources)} runs"
    words = _identity_words(sources[0].rows) if sources else ""
    return f"Results: {words}" if words else "Results"


def _subtitle(sources: Sequence[ResultsSource]) -> str:
    if not sources:
        return "From the files given to mlrc tables"
    return "From " + ", ".join(str(source.run_dir or "a results CSV file") for source in sources)
