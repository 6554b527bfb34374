"""The parts of the results page, as HTML: the tables, the figures, and per run its settings
and code version, what it cost and each loss's study.

Each function takes what was read (table documents, ``run.json``, a
:class:`~benchmark.store.run_cost.RunCost`, a :class:`~benchmark.report.study_trials.LossStudy`)
and returns HTML; reading and writing files is :mod:`benchmark.report.results_page`'s job.
"""

from __future__ import annotations

import json
from collections import Counter
from html import escape
from typing import Any

from benchmark.report.html import document_to_html
from benchmark.report.labels import setting_symbol
from benchmark.report.page_template import note, plain_table
from benchmark.report.study_trials import LossStudy, TrialRow
from benchmark.report.table_model import TableDocument
from benchmark.store.run_cost import RunCost

# The entries of run.json shown above the protocol's sections, with their labels.
RUN_ENTRIES = {
    "code_version": "code version",
    "created": "created",
    "storage": "Optuna storage",
    "plugins": "plugins",
}
DEFAULT_STORAGE = "optuna.journal in the run directory"


def tables_html(document: TableDocument, downloads: list[tuple[str, str]]) -> str:
    """A document's tables, with links to its files (``downloads``: (label, relative path))."""
    links = " · ".join(f'<a href="{escape(href)}">{escape(label)}</a>' for label, href in downloads)
    files = f'<p class="downloads">{links}</p>' if links else ""
    return files + "\n" + document_to_html(document.tables, f"table-{document.stem}")


def figures_html(figures: list[tuple[str, str]], skipped: list[str]) -> str:
    """The figures (``(relative path, caption)``) side by side, then what was not drawn."""
    parts = ['<div class="figures">']
    for src, caption in figures:
        parts.append(
            f'<figure><a href="{escape(src)}"><img src="{escape(src)}" alt="{escape(caption)}">'
            f"</a><figcaption>{escape(caption)}</figcaption></figure>"
        )
    parts.append("</div>")
    if skipped:
        parts.append('<p class="muted">Not drawn by this command:</p><ul class="muted">')
        parts += [f"<li>{escape(reason)}</li>" for reason in skipped]
        parts.append("</ul>")
    return "\n".join(parts)


def settings_html(manifest: dict[str, Any]) -> str:
    """The code version and storage of a run, then every section of its resolved protocol."""
    protocol = manifest.get("protocol") or {}
    recorded = {**manifest, "storage": manifest.get("storage") or DEFAULT_STORAGE}
    run_rows = [[escape(label), _value(recorded.get(key))] for key, label in RUN_ENTRIES.items()]
    scalars = {key: value for key, value in protocol.items() if not isinstance(value, dict)}
    run_rows += [[escape(f"protocol {key}"), _value(value)] for key, value in scalars.items()]
    parts = [_settings_table("run", run_rows)]
    for section, values in protocol.items():
        if isinstance(values, dict):
            rows = [[escape(str(key)), _value(value)] for key, value in values.items()]
            parts.append(_settings_table(section, rows or [["", '<span class="muted">—</span>']]))
    return '<div class="settings">' + "\n".join(parts) + "</div>"


def cost_html(cost: RunCost, displays: dict[str, str]) -> str:
    """Per loss and stage: fold trainings done and left, device-hours spent and left, as
    ``mlrc status`` counts them; then the total."""
    summary = cost.to_json()
    rows = []
    for loss in summary["losses"]:
        for stage in loss["stages"]:
            label = escape(displays.get(loss["loss"], loss["loss"]))
            rows.append([label, stage["stage"], *_cost_cells(stage)])
    rows.append(["<strong>total</strong>", "", *_cost_cells(summary["total"])])
    headers = ["Loss", "Stage", "trainings done", "device-hours spent", "left", "device-hours left"]
    per_device = (
        f" Each of {cost.workers_per_device} workers per device holds a share of it."
        if cost.workers_per_device > 1
        else ""
    )
    explanation = (
        "Device-hours: the recorded wall times of the finished fold trainings (each study "
        "fold counted once, each retrained fold); left: the trainings still to run, priced "
        f"at the mean fold time (unknown before any fold finished).{per_device}"
    )
    total = _hours(summary["total"]["device_hours_spent"])
    return (
        f"<p><strong>{total} device-hours</strong> spent on "
        f"{summary['total']['trainings_done']} fold trainings.</p>\n"
        + plain_table(headers, rows)
        + f'\n<p class="muted">{escape(explanation)}</p>'
    )


def study_html(study: LossStudy, display: str, history: tuple[str, str] | str) -> str:
    """One loss's study: its trial counts and best trial, the optimisation history
    (``(relative path, caption)``, or why it is absent), and every trial's row."""
    counts = Counter(row.state for row in study.rows)
    counted = ", ".join(f"{count} {state}" for state, count in counts.items())
    best = next((row for row in study.rows if row.number == study.best_number), None)
    best_text = (
        f"; best: trial {best.number}, mean validation MAP@R {_percent(best.value)}"
        if best is not None
        else "; no trial completed"
    )
    parts = [
        f"<p>Study <code>{escape(study.study_name)}</code>: {len(study.rows)} trials "
        f"({escape(counted)}){escape(best_text)}.</p>"
    ]
    if isinstance(history, str):
        parts.append(note(history))
    else:
        src, caption = history
        parts.append(
            f'<figure><img src="{escape(src)}" alt="{escape(caption)}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>"
        )
    parts.append(trials_table(study))
    return "\n".join(parts)


def trials_table(study: LossStudy) -> str:
    """Trial number, state, mean validation MAP@R, the searched parameters, each fold's best
    validation MAP@R (percent), wall time, and why a trial did not complete."""
    folds = max((max(row.fold_values, default=-1) for row in study.rows), default=-1) + 1
    headers = [
        "trial",
        "state",
        "mean val. MAP@R (%)",
        *(setting_symbol(name) for name in study.param_names),
        *(f"fold {fold}" for fold in range(folds)),
        "time (s)",
        "note",
    ]
    rows, classes = [], []
    for row in study.rows:
        rows.append(_trial_cells(row, study.param_names, folds))
        best = " best-trial" if row.number == study.best_number else ""
        classes.append(f"state-{row.state}{best}")
    return plain_table(headers, rows, css="plain trials", row_classes=classes)


def _trial_cells(row: TrialRow, param_names: list[str], folds: int) -> list[str]:
    params = [_param(row.params.get(name)) for name in param_names]
    fold_values = [_percent(row.fold_values.get(fold)) for fold in range(folds)]
    wall_time = "—" if row.wall_time_s is None else f"{row.wall_time_s:.1f}"
    return [
        str(row.number),
        escape(row.state),
        _percent(row.value),
        *params,
        *fold_values,
        wall_time,
        escape(row.reason),
    ]


def _settings_table(caption: str, rows: list[list[str]]) -> str:
    body = "".join(f'<tr><th scope="row">{key}</th><td>{value}</td></tr>' for key, value in rows)
    return f"<table><caption>{escape(caption)}</caption><tbody>{body}</tbody></table>"


def _cost_cells(values: dict[str, Any]) -> list[str]:
    left_hours = values["device_hours_left"]
    return [
        str(values["trainings_done"]),
        _hours(values["device_hours_spent"]),
        f"{values['trainings_left']:.0f}",
        "unknown" if left_hours is None else _hours(left_hours),
    ]


def _hours(hours: float) -> str:
    """Device-hours to 3 significant digits (a demo's are thousandths)."""
    return f"{hours:.3g}" if hours else "0"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f}"


def _param(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return escape(str(value))


def _value(value: object) -> str:
    """A setting as shown: text as it is, anything else as JSON; nothing as "—"."""
    if value is None or value == [] or value == "":
        return '<span class="muted">—</span>'
    text = value if isinstance(value, str) else json.dumps(value)
    return f"<code>{escape(text)}</code>"
