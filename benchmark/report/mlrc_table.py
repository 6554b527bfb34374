"""MLRC's own table ("A Metric Learning Reality Check", ECCV 2020), from the summary frame.

One table per dataset (file stem ``table_mlrc_<dataset>``, ``_<protocol>`` added when a dataset
comes with several protocols): methods as rows -- the untrained networks first, as MLRC's
"Pretrained" row, then MLRC's methods in MLRC's order, then every other loss -- and as columns
the concatenated and the separated evaluations, each P@1, RP and MAP@R. Cells, bold/italic and
notes are those of every other table (:func:`~benchmark.report.stats_table.build_stats_table`:
the best of a column in bold, Welch's test against it with Holm's correction across the column).
Written whenever the rows hold one of MLRC's methods in those two evaluation modes.
"""

from __future__ import annotations

import pandas as pd

from benchmark.config.reference_methods import MLRC2020_METHODS
from benchmark.report.labels import (
    OWN_PARAMS_SOURCES,
    UNTRAINED,
    dataset_label,
    file_slug,
    metric_label,
    ordered_datasets,
    ordered_losses,
    protocol_label,
)
from benchmark.report.latex import escape_latex
from benchmark.report.stats_table import Axis, build_stats_table, loss_row_label
from benchmark.report.table_model import Note, TableDocument
from benchmark.store.results_file import (
    MAP_AT_R,
    MODE_CONCATENATED,
    MODE_SEPARATED,
    PRECISION_AT_1,
    R_PRECISION,
)

MLRC_STEM = "table_mlrc"
MLRC_MODES = {MODE_CONCATENATED: "Concatenated", MODE_SEPARATED: "Separated"}  # MLRC's column order
MLRC_METRICS = (PRECISION_AT_1, R_PRECISION, MAP_AT_R)
PRETRAINED = "Pretrained"
_COLUMN_KEY = ("protocol", "dataset", "mode", "dim", "metric")
_PRETRAINED_NOTE = (
    f"{PRETRAINED}: the untrained networks every loss starts from (MLRC's row; not compared)."
)


def mlrc_tables(summary: pd.DataFrame) -> list[TableDocument]:
    """MLRC's table of each (protocol, dataset) whose rows hold one of MLRC's methods."""
    cells = summary[
        (summary["ablation"] == "")
        & summary["mode"].isin(list(MLRC_MODES))
        & summary["metric"].isin(MLRC_METRICS)
    ]
    documents = []
    for dataset in ordered_datasets(cells["dataset"]):
        on_dataset = cells[cells["dataset"] == dataset]
        protocols = list(dict.fromkeys(on_dataset["protocol"]))
        for protocol in protocols:
            group = on_dataset[on_dataset["protocol"] == protocol]
            if not group["loss"].isin(MLRC2020_METHODS).any():
                continue
            name = file_slug(dataset)
            if len(protocols) > 1:
                name += f"_{file_slug(protocol)}"
            documents.append(_dataset_table(group, protocol, dataset, name))
    return documents


def _dataset_table(group: pd.DataFrame, protocol: str, dataset: str, name: str) -> TableDocument:
    """``name``: the dataset (and protocol) part of the file stem and of the LaTeX label."""
    keys, labels, group_labels = [], [], []
    for mode, mode_name in MLRC_MODES.items():
        for dim in sorted(group.loc[group["mode"] == mode, "dim"].unique()):
            for metric in MLRC_METRICS:
                keys.append((protocol, dataset, mode, int(dim), metric))
                labels.append(metric_label(metric))
                group_labels.append(f"{mode_name} ({int(dim)}D)")
    table, frame = build_stats_table(
        group,
        _method_axis(group),
        Axis(_COLUMN_KEY, keys, labels, group_labels),
        title=(
            f"P@1, RP and MAP@R in MLRC's layout on {dataset_label(dataset)} under the "
            f"{protocol_label(protocol)} protocol"
        ),
        row_header="Method",
        compare_within=_COLUMN_KEY,
        family="column",
        label=f"tab:mlrc-{name.replace('_', '-')}",
    )
    if (frame["loss"] == UNTRAINED).any():
        # The statistics' own note names the untrained row by its results label.
        table.notes = [note for note in table.notes if not note.markdown.startswith("no training")]
        table.notes.append(Note(_PRETRAINED_NOTE, escape_latex(_PRETRAINED_NOTE)))
    return TableDocument(f"{MLRC_STEM}_{name}", [table], frame)


def _method_axis(cells: pd.DataFrame) -> Axis:
    """Pretrained, MLRC's methods in MLRC's order, then the other losses (paper order); each
    loss once per hyperparameter source, ours before published ones."""
    present = ordered_losses(cells["loss"])
    order = [UNTRAINED] if UNTRAINED in present else []
    order += [loss for loss in MLRC2020_METHODS if loss in present]
    order += [loss for loss in present if loss not in order]
    display = dict(zip(cells["loss"], cells["display"], strict=True))
    keys, labels = [], []
    for loss in order:
        sources = list(dict.fromkeys(cells.loc[cells["loss"] == loss, "params_source"]))
        own = [source for source in sources if source in OWN_PARAMS_SOURCES]
        for source in own + [source for source in sources if source not in own]:
            keys.append((loss, source))
            label = PRETRAINED if loss == UNTRAINED else loss_row_label(display[loss], source)
            labels.append(label)
    return Axis(("loss", "params_source"), keys, labels)
