"""Published best hyperparameters: retrain a loss with them instead of searching.

A source is ``"mlrc2020"`` (MLRC's published optima, ECCV 2020, shipped as
``results/reference/mlrc_eccv2020_best_hyperparameters.csv``) or the path of any CSV in the same
schema, one row per hyperparameter::

    dataset,loss,parameter,value,extra,source_label
    sop,arcface,scale,220.3,batch_size=32,scale
    sop,arcface,loss_lr,2.01e-3,batch_size=32,weights lr

``extra`` holds ``key=value`` items separated by ``;`` and must state the ``batch_size`` the
values were found with; ``source_label`` (optional) is the name the source printed. ``parameter``
is the loss's own argument name (``loss_lr`` for the learning rate of its parameters). A value
outside the loss's search space is used as published, with a warning naming it.

>>> load_published_params("mlrc2020", "sop", "arcface")
{'loss_lr': 0.00201, 'margin': 18.63, 'scale': 220.3}
"""

from __future__ import annotations

import csv
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.config import shipped_data_dir
from benchmark.errors import ConfigError
from benchmark.losses.search_space import SearchSpace

_logger = logging.getLogger(__name__)

REFERENCE_DIR = shipped_data_dir("reference", "results/reference")
PUBLISHED_SOURCES: dict[str, str] = {"mlrc2020": "mlrc_eccv2020_best_hyperparameters.csv"}
"""Source names accepted by ``--params-from`` -> their file in ``results/reference/``."""

PUBLISHED_COLUMNS = ("dataset", "loss", "parameter", "value", "extra")


@dataclass(frozen=True)
class PublishedConfiguration:
    """The published hyperparameters of one loss on one dataset at one batch size."""

    loss: str
    dataset: str
    batch_size: int
    params: dict[str, float]


def published_source_path(source: str | Path) -> Path:
    """The CSV file of ``source``: a name of :data:`PUBLISHED_SOURCES` or a path."""
    if str(source) in PUBLISHED_SOURCES:
        return REFERENCE_DIR / PUBLISHED_SOURCES[str(source)]
    path = Path(source)
    if not path.is_file():
        raise ConfigError(
            f"published parameters '{source}' not found: neither a file nor one of the shipped "
            f"sources ({', '.join(PUBLISHED_SOURCES)}); pass a CSV with the columns "
            "dataset,loss,parameter,value,extra,source_label"
        )
    return path


def read_published(source: str | Path) -> list[PublishedConfiguration]:
    """Every configuration a source covers, sorted by loss, dataset and batch size."""
    path = published_source_path(source)
    try:
        with path.open(newline="") as file:
            reader = csv.DictReader(file)
            header = reader.fieldnames or []
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{path}: cannot read published parameters: {exc}") from None
    missing = [column for column in PUBLISHED_COLUMNS if column not in header]
    if missing:
        raise ConfigError(
            f"{path}: missing column(s) {missing}; published parameters need the header "
            "dataset,loss,parameter,value,extra,source_label"
        )

    configurations: dict[tuple[str, str, int], dict[str, float]] = {}
    for row in rows:
        where = f"{path} line {reader.line_num}"
        cells = {column: (row.get(column) or "").strip() for column in PUBLISHED_COLUMNS}
        key = (cells["loss"], cells["dataset"], _batch_size(cells["extra"], where))
        params = configurations.setdefault(key, {})
        if cells["parameter"] in params:
            raise ConfigError(
                f"{where}: '{cells['parameter']}' of {key[0]} on {key[1]} is given twice"
            )
        params[cells["parameter"]] = _number(cells["value"], where)
    return [
        PublishedConfiguration(loss, dataset, batch_size, params)
        for (loss, dataset, batch_size), params in sorted(configurations.items())
    ]


def load_published_params(
    source: str | Path, dataset: str, loss: str, batch_size: int = 32
) -> dict[str, float]:
    """The published hyperparameters of ``loss`` on ``dataset`` at ``batch_size``.

    Raises :class:`ConfigError` naming what the source does have when it lacks the loss, the
    dataset for that loss, or the batch size.
    """
    path = published_source_path(source)
    available = read_published(path)
    of_loss = [c for c in available if c.loss == loss]
    if not of_loss:
        losses = ", ".join(sorted({c.loss for c in available})) or "none"
        raise ConfigError(
            f"{path}: no published parameters for loss '{loss}'; it has these losses: {losses}"
        )
    on_dataset = [c for c in of_loss if c.dataset == dataset]
    if not on_dataset:
        datasets = ", ".join(sorted({c.dataset for c in of_loss}))
        raise ConfigError(
            f"{path}: no published parameters for loss '{loss}' on dataset '{dataset}'; "
            f"it has '{loss}' on: {datasets}"
        )
    for configuration in on_dataset:
        if configuration.batch_size == batch_size:
            return dict(configuration.params)
    batch_sizes = ", ".join(str(c.batch_size) for c in on_dataset)
    raise ConfigError(
        f"{path}: no published parameters for loss '{loss}' on dataset '{dataset}' with batch "
        f"size {batch_size}; it has batch size(s) {batch_sizes}"
    )


def check_published_values(
    params: dict[str, Any], space: SearchSpace, where: str
) -> dict[str, Any]:
    """``params`` with the values of integer ranges as ``int``; a warning for each value outside
    ``space`` (the loss's search space on the run's dataset), which is still used as given.

    Raises :class:`ConfigError` for a fractional value of an integer parameter.
    """
    checked = dict(params)
    for name, bounds in space.params.items():
        if name not in checked:
            continue
        value = checked[name]
        if bounds.integer:
            if not float(value).is_integer():
                raise ConfigError(f"{where}: {name} = {value} must be an integer")
            checked[name] = value = int(value)
        if not bounds.low <= value <= bounds.high:
            dataset = space.dataset or "the default ranges"
            _logger.warning(
                "%s: %s = %g of loss '%s' lies outside its search space on %s %s; "
                "it is used as published",
                where,
                name,
                value,
                space.loss,
                dataset,
                bounds.bounds(),
            )
    return checked


def _batch_size(extra: str, where: str) -> int:
    items = (item.split("=", 1) for item in extra.split(";") if "=" in item)
    text = {key.strip(): value.strip() for key, value in items}.get("batch_size")
    if text is None:
        raise ConfigError(
            f"{where}: the 'extra' column must state the batch size, e.g. batch_size=32"
        )
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{where}: batch_size={text!r} is not an integer") from None


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ConfigError(f"{where}: value {text!r} is not a finite number")
    return value
