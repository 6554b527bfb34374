"""The paper's tables from the summary frame: Table 1, Tables 7-9, Tables 2-3, the ablations.

Each builder returns :class:`TableDocument` s (nothing when its rows are absent); file stems:

- ``table1``: MAP@R, separated (128D) and concatenated (512D), column groups = datasets; with
  several ``metrics``, one such table per metric;
- ``table_full_<dataset>`` (Tables 7-9): MAP@R, P@1 and RP of every evaluation mode, grouped
  as the paper (``Separated (128D)``, ``Concatenated (512D)``); Recall@K in a second table;
- ``table2_3_traditional``: the traditional protocol's MAP@R and early-stopped epoch;
- ``table4_5_10_batch_size``, ``table6_mf_reg``, ``table11_inshop_batch_size_no_split``,
  ``table_embedding_dim``, ``table_alpha_base``, ``table_ablation_<name>``: MAP@R per
  ablated setting (columns), per loss and dataset (rows); alpha x base is a grid.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from benchmark.report.labels import (
    BEST_EPOCH,
    MODE_LABELS,
    OWN_PARAMS_SOURCES,
    dataset_label,
    file_slug,
    is_recall_metric,
    metric_label,
    metric_sort_key,
    mode_label,
    ordered_datasets,
    ordered_losses,
    ordered_modes,
    protocol_label,
    setting_symbol,
    setting_words,
)
from benchmark.report.stats_table import Axis, build_stats_table, loss_row_label
from benchmark.report.table_model import Table, TableDocument
from benchmark.store.result_fields import ablation_settings
from benchmark.store.results_file import MAP_AT_R, MODE_CONCATENATED, MODE_SEPARATED, MODE_SINGLE

MAIN_MODES = (MODE_SEPARATED, MODE_CONCATENATED)
TABLE1_STEM = "table1"
TRADITIONAL_STEM = "table2_3_traditional"
# The main table of a run (``table.md``, and what ``mlrc tables`` prints): the first present.
MAIN_STEMS = (TABLE1_STEM, TRADITIONAL_STEM)
_COLUMN_KEY = ("protocol", "dataset", "mode", "dim", "metric")
_LOSS_KEY = ("loss", "params_source")
ABLATION_STEMS = {
    "batch-size": "table4_5_10_batch_size",
    "mf-reg": "table6_mf_reg",
    "inshop-batch-size-no-split": "table11_inshop_batch_size_no_split",
    "embedding-dim": "table_embedding_dim",
    "alpha-base": "table_alpha_base",
}
# Settings of an ablation that index the rows (the others index the columns).
ABLATION_ROW_SETTINGS = {"alpha-base": ("alpha",)}
SETTING = "setting:"  # prefix of the columns holding one ablated setting each


def table1(summary: pd.DataFrame, metrics: tuple[str, ...] = (MAP_AT_R,)) -> TableDocument | None:
    """Table 1: rows = losses (paper order), columns = datasets x (128D, 512D); one table per
    metric of ``metrics`` (the paper's Table 1 is MAP@R; Tables 7-9 hold the others)."""
    cells = summary[
        (summary["ablation"] == "")
        & summary["mode"].isin(MAIN_MODES)
        & summary["metric"].isin(metrics)
    ]
    tables: list[Table] = []
    frames: list[pd.DataFrame] = []
    for metric in metrics:
        metric_cells = cells[cells["metric"] == metric]
        if metric_cells.empty:
            continue
        keys, labels, group_labels = [], [], []
        for (protocol, dataset), group_label in _protocol_dataset_groups(metric_cells).items():
            group = metric_cells[
                (metric_cells["protocol"] == protocol) & (metric_cells["dataset"] == dataset)
            ]
            for mode, dim, label in _evaluations(group):
                keys.append((protocol, dataset, mode, dim, metric))
                labels.append(label)
                group_labels.append(group_label)
        table, frame = build_stats_table(
            metric_cells,
            _loss_axis(metric_cells),
            Axis(_COLUMN_KEY, keys, labels, group_labels),
            title=f"{metric_label(metric)} {_on_under(metric_cells)}",
            row_header="Loss",
            compare_within=_COLUMN_KEY,
            family="column",
            label="tab:table1" if not tables else f"tab:table1-{file_slug(metric)}",
        )
        tables.append(table)
        frames.append(frame)
    if not tables:
        return None
    return TableDocument(TABLE1_STEM, tables, pd.concat(frames, ignore_index=True))


def main_document(documents: Sequence[TableDocument]) -> TableDocument | None:
    """The main table among ``documents``: Table 1, else Tables 2-3 (see ``MAIN_STEMS``)."""
    by_stem = {document.stem: document for document in documents}
    return next((by_stem[stem] for stem in MAIN_STEMS if stem in by_stem), None)


def full_tables(summary: pd.DataFrame) -> list[TableDocument]:
    """Tables 7-9: per dataset, MAP@R, P@1 and RP of every evaluation mode (grouped by mode as
    the paper); Recall@K, where measured, in a second table of the same file."""
    cells = summary[(summary["ablation"] == "") & (summary["metric"] != BEST_EPOCH)]
    documents = []
    groups = _protocol_dataset_groups(cells)
    for (protocol, dataset), group_label in groups.items():
        group = cells[(cells["protocol"] == protocol) & (cells["dataset"] == dataset)]
        metrics = sorted(dict.fromkeys(group["metric"]), key=metric_sort_key)
        parts = [
            ([m for m in metrics if not is_recall_metric(m)], ""),
            ([m for m in metrics if is_recall_metric(m)], "-recall"),
        ]
        tables, frames = [], []
        for part, label_suffix in parts:
            if not part:
                continue
            keys, labels, group_labels = [], [], []
            for mode, dim, _ in _evaluations(group):
                for metric in part:
                    keys.append((protocol, dataset, mode, dim, metric))
                    labels.append(metric_label(metric))
                    group_labels.append(mode_label(mode, dim))
            shown = group[group["metric"].isin(part)]
            what = "Recall@K" if label_suffix else _and([metric_label(m) for m in part])
            table, frame = build_stats_table(
                shown,
                _loss_axis(shown),
                Axis(_COLUMN_KEY, keys, labels, group_labels),
                title=f"{what} {_on_under(shown)}",
                row_header="Loss",
                compare_within=_COLUMN_KEY,
                family="column",
                label=f"tab:full-{file_slug(dataset)}{label_suffix}",
            )
            tables.append(table)
            frames.append(frame)
        suffix = "" if group_label == dataset_label(dataset) else f"_{file_slug(protocol)}"
        documents.append(
            TableDocument(
                f"table_full_{file_slug(dataset)}{suffix}",
                tables,
                pd.concat(frames, ignore_index=True),
            )
        )
    return documents


def traditional_table(summary: pd.DataFrame) -> list[TableDocument]:
    """Tables 2-3: per dataset, MAP@R and the early-stopped epoch of the single models."""
    cells = summary[
        (summary["ablation"] == "")
        & (summary["mode"] == MODE_SINGLE)
        & summary["metric"].isin([MAP_AT_R, BEST_EPOCH])
    ]
    if cells.empty:
        return []
    key_fields = ("protocol", "dataset", "dim", "metric")
    keys, labels, group_labels = [], [], []
    for (protocol, dataset), group_label in _protocol_dataset_groups(cells).items():
        group = cells[(cells["protocol"] == protocol) & (cells["dataset"] == dataset)]
        dims = sorted(group.loc[group["metric"] == MAP_AT_R, "dim"].unique())
        for dim in dims or sorted(group["dim"].unique()):
            for metric in (MAP_AT_R, BEST_EPOCH):
                keys.append((protocol, dataset, int(dim), metric))
                labels.append(metric_label(metric) + (f" {int(dim)}D" if len(dims) > 1 else ""))
                group_labels.append(group_label)
    table, frame = build_stats_table(
        cells,
        _loss_axis(cells),
        Axis(key_fields, keys, labels, group_labels),
        title=f"MAP@R and epoch of the early-stopped model {_on_under(cells)}",
        row_header="Loss",
        compare_within=key_fields,
        family="column",
        label="tab:traditional",
    )
    return [TableDocument(TRADITIONAL_STEM, [table], frame)]


def ablation_tables(summary: pd.DataFrame) -> list[TableDocument]:
    """One table per ablation: MAP@R per setting; the best setting of each loss is bold."""
    documents = []
    for ablation in dict.fromkeys(summary.loc[summary["ablation"] != "", "ablation"]):
        cells = ablation_cells(summary, ablation)
        row_settings = ABLATION_ROW_SETTINGS.get(ablation, ())
        column_settings = [
            c
            for c in cells.columns
            if c.startswith(SETTING) and c[len(SETTING) :] not in row_settings
        ]
        row_fields = ("protocol", "dataset", "loss", "params_source")
        row_fields += tuple(SETTING + s for s in row_settings)
        column_fields = ("mode", *column_settings)
        rows = _ablation_row_axis(cells, row_fields, row_settings)
        modes = ordered_modes(cells["mode"])
        column_keys = [
            (mode, *values)
            for mode in modes
            for values in _sorted_settings(cells.loc[cells["mode"] == mode, column_settings])
        ]
        columns = Axis(
            column_fields,
            column_keys,
            [_settings_label(column_settings, key[1:]) for key in column_keys],
            [MODE_LABELS.get(key[0], key[0]) if len(modes) > 1 else "" for key in column_keys],
        )
        # The best setting per loss (and dataset, mode): a row, or the whole alpha x base grid.
        compare_within = ("protocol", "dataset", "loss", "params_source", "mode", "metric")
        table, frame = build_stats_table(
            cells,
            rows,
            columns,
            title=_ablation_title(ablation, cells, row_settings, column_settings),
            row_header=_row_header(cells, row_settings),
            compare_within=compare_within,
            family=("grid" if row_settings else "row") + (" per mode" if len(modes) > 1 else ""),
            label=f"tab:ablation-{file_slug(ablation)}",
        )
        stem = ABLATION_STEMS.get(ablation, f"table_ablation_{file_slug(ablation)}")
        documents.append(TableDocument(stem, [table], frame))
    return documents


def ablation_cells(summary: pd.DataFrame, ablation: str) -> pd.DataFrame:
    """The MAP@R cells of one ablation, with one ``setting:<name>`` column per ablated setting."""
    cells = summary[(summary["ablation"] == ablation) & (summary["metric"] == MAP_AT_R)].copy()
    settings = [ablation_settings(text) for text in cells["ablation_value"]]
    names = list(dict.fromkeys(name for setting in settings for name in setting))
    for name in names:  # object dtype: a setting absent from a row stays None, not NaN
        values = [setting.get(name) for setting in settings]
        cells[SETTING + name] = pd.Series(values, index=cells.index, dtype=object)
    return cells


def _evaluations(group: pd.DataFrame) -> list[tuple[str, int, str]]:
    """(mode, dim, column label) of a dataset's evaluations: ``128D``, ``512D``, or the mode too
    where two modes share a dimension."""
    pairs = [
        (mode, int(dim))
        for mode in ordered_modes(group["mode"])
        for dim in sorted(group.loc[group["mode"] == mode, "dim"].unique())
    ]
    dims = [dim for _, dim in pairs]
    return [
        (mode, dim, f"{dim}D" if dims.count(dim) == 1 else mode_label(mode, dim))
        for mode, dim in pairs
    ]


def _loss_axis(cells: pd.DataFrame) -> Axis:
    keys = []
    for loss in ordered_losses(cells["loss"]):
        sources = list(dict.fromkeys(cells.loc[cells["loss"] == loss, "params_source"]))
        own = [s for s in sources if s in OWN_PARAMS_SOURCES]
        keys += [(loss, source) for source in own + [s for s in sources if s not in own]]
    display = dict(zip(cells["loss"], cells["display"], strict=True))
    return Axis(_LOSS_KEY, keys, [loss_row_label(display[loss], source) for loss, source in keys])


def _protocol_dataset_groups(cells: pd.DataFrame) -> dict[tuple[str, str], str]:
    """(protocol, dataset) -> its column-group label, in dataset order; the protocol is named
    only when one dataset comes with several protocols."""
    groups = {}
    for dataset in ordered_datasets(cells["dataset"]):
        protocols = list(dict.fromkeys(cells.loc[cells["dataset"] == dataset, "protocol"]))
        for protocol in protocols:
            label = dataset_label(dataset)
            if len(protocols) > 1:
                label = f"{label} ({protocol_label(protocol)})"
            groups[(protocol, dataset)] = label
    return groups


def _on_under(cells: pd.DataFrame) -> str:
    """'on CUB, Cars196 and SOP under the MLRC protocol': what a caption says of its cells."""
    protocols = [protocol_label(p) for p in dict.fromkeys(cells["protocol"])]
    datasets = [dataset_label(d) for d in ordered_datasets(cells["dataset"])]
    plural = "s" if len(protocols) > 1 else ""
    return f"on {_and(datasets)} under the {_and(protocols)} protocol{plural}"


ABLATION_SUBJECTS = {"inshop-batch-size-no-split": "query and gallery as one test set"}


def _ablation_title(
    ablation: str, cells: pd.DataFrame, row_settings: tuple[str, ...], column_settings: list
) -> str:
    """'MAP@R of MFCWMS on CUB per batch size under the traditional protocol'."""
    settings = [*row_settings, *(c.removeprefix(SETTING) for c in column_settings)]
    per = _and([setting_words(name) for name in settings]) if settings else f"ablation {ablation}"
    losses = list(dict.fromkeys(zip(cells["display"], cells["params_source"], strict=True)))
    of = f" of {loss_row_label(*losses[0])}" if len(losses) == 1 else ""
    subject = ABLATION_SUBJECTS.get(ablation)
    protocols = [protocol_label(p) for p in dict.fromkeys(cells["protocol"])]
    datasets = [dataset_label(d) for d in ordered_datasets(cells["dataset"])]
    plural = "s" if len(protocols) > 1 else ""
    return (
        f"MAP@R{of} on {_and(datasets)}" + (f" ({subject})" if subject else "")
        + f" per {per} under the {_and(protocols)} protocol{plural}"
    )  # fmt: skip


def _varying(cells: pd.DataFrame, fields: tuple[str, ...]) -> set[str]:
    return {field for field in fields if cells[field].nunique(dropna=False) > 1}


def _ablation_row_axis(
    cells: pd.DataFrame, row_fields: tuple[str, ...], row_settings: tuple[str, ...]
) -> Axis:
    keys = []
    for dataset in ordered_datasets(cells["dataset"]):
        for loss, source in _loss_axis(cells[cells["dataset"] == dataset]).keys:
            block = cells[
                (cells["dataset"] == dataset)
                & (cells["loss"] == loss)
                & (cells["params_source"] == source)
            ]
            for protocol in dict.fromkeys(block["protocol"]):
                settings = block.loc[
                    block["protocol"] == protocol, [SETTING + s for s in row_settings]
                ]
                for values in _sorted_settings(settings) if row_settings else [()]:
                    keys.append((protocol, dataset, loss, source, *values))
    parts = _row_parts(cells, row_settings)
    display = dict(zip(cells["loss"], cells["display"], strict=True))
    labels = []
    for protocol, dataset, loss, source, *values in keys:
        label = {
            "dataset": dataset_label(dataset),
            "protocol": protocol_label(protocol),
            "loss": loss_row_label(display[loss], source),
            "settings": _settings_label(row_settings, tuple(values)),
        }
        labels.append(" · ".join(label[part] for part in parts))
    return Axis(row_fields, keys, labels)


def _row_parts(cells: pd.DataFrame, row_settings: tuple[str, ...]) -> list[str]:
    """What a row label of an ablation table names: what varies between its rows."""
    varying = _varying(cells, ("dataset", "protocol", "loss", "params_source"))
    parts: list[str] = [name for name in ("dataset", "protocol") if name in varying]
    if {"loss", "params_source"} & varying or not (parts or row_settings):
        parts.append("loss")
    return parts + (["settings"] if row_settings else [])


def _row_header(cells: pd.DataFrame, row_settings: tuple[str, ...]) -> str:
    names = {"dataset": "Dataset", "protocol": "Protocol", "loss": "Loss"}
    names["settings"] = ", ".join(setting_symbol(name) for name in row_settings)
    return " · ".join(names[part] for part in _row_parts(cells, row_settings))


def _sorted_settings(frame: pd.DataFrame) -> list[tuple]:
    distinct = dict.fromkeys(tuple(values) for values in frame.itertuples(index=False, name=None))
    return sorted(distinct, key=lambda values: tuple(_sort_key(v) for v in values))


def _sort_key(value: object) -> tuple[int, float, str]:
    if isinstance(value, bool) or value is None:
        return (1, 0.0, str(value))
    if isinstance(value, int | float):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def _settings_label(names: list[str] | tuple[str, ...], values: tuple) -> str:
    """``𝑑 = 64``, ``α = 0.01, base = 0.5``: settings in the paper's notation."""
    names = [name.removeprefix(SETTING) for name in names]
    return ", ".join(
        f"{setting_symbol(name)} = {_format_setting(value)}"
        for name, value in zip(names, values, strict=True)
    )


def _format_setting(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return "—" if value is None else str(value)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
