"""How results are named and ordered in tables and figures (the paper's conventions)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from benchmark.data import get_dataset_spec
from benchmark.errors import UnknownDatasetError
from benchmark.store.results_file import (
    MAP_AT_R,
    METRIC_NAMES,
    MODE_CONCATENATED,
    MODE_SEPARATED,
    MODE_SINGLE,
    MODES,
    PRECISION_AT_1,
    R_PRECISION,
    UNTRAINED,
    display_of,
)

# The paper's Table 1 order; other losses (users' own) follow in order of first appearance,
# then the "no training" baseline.
PAPER_LOSS_ORDER = (
    "arcface",
    "cosface",
    "multi_similarity",
    "multi_similarity_miner",
    "proxy_nca",
    "proxy_anchor",
    "contrastive",
    "mfcont",
    "cwms",
    "mfcwms",
)
# Rows that name no registered loss: the profiler's direct C x C reference.
_OTHER_LABELS = {"mfcwms_direct_cxc": "MFCWMS (direct C×C)"}

# The paper's dataset order; dataset labels are the registrations' ``display``.
DATASET_ORDER = ("cub", "cars196", "sop", "inshop")

MODE_LABELS = {
    MODE_SINGLE: "Single model",
    MODE_SEPARATED: "Separated",
    MODE_CONCATENATED: "Concatenated",
}

# How the paper names the protocols; others (users' own, the demos) are named as they are.
PROTOCOL_LABELS = {"mlrc": "MLRC", "traditional": "traditional"}

# Ablated settings in the paper's notation (column and row labels), and in words (captions).
SETTING_SYMBOLS = {
    "embedding_size": "𝑑",
    "alpha": "α",
    "beta": "β",
    "base": "base",
    "mf_reg": "γ",
    "batch_size": "batch size",
}
SETTING_WORDS = {
    "embedding_size": "embedding dimension 𝑑",
    "mf_reg": "mean-field regularisation coefficient γ",
    "batch_size": "batch size",
}

BEST_EPOCH = "best_epoch"  # derived from ``best_epochs``: the epoch of the early-stopped model
METRIC_LABELS = {
    MAP_AT_R: "MAP@R",
    PRECISION_AT_1: "P@1",
    R_PRECISION: "RP",
    BEST_EPOCH: "Epoch",
}
_RECALL = re.compile(r"recall_at_(\d+)")

# Sources of hyperparameters that are ours (not marked in tables): our search, the
# traditional protocol's fixed defaults, and none (the untrained baseline).
OWN_PARAMS_SOURCES = ("search", "protocol", "none")


def metric_label(metric: str) -> str:
    recall = _RECALL.fullmatch(metric)
    if recall:
        return f"R@{recall[1]}"
    return METRIC_LABELS.get(metric, metric)


def is_recall_metric(metric: str) -> bool:
    return _RECALL.fullmatch(metric) is not None


def metric_sort_key(metric: str) -> tuple[int, str, int]:
    """MAP@R, P@1, RP (the paper's order), then Recall@K by K, then others by name."""
    if metric in METRIC_NAMES:
        return (0, "", METRIC_NAMES.index(metric))
    recall = _RECALL.fullmatch(metric)
    return (1, "", int(recall[1])) if recall else (2, metric, 0)


def protocol_label(protocol: str) -> str:
    """The paper's name of a protocol ("MLRC"), else the name itself."""
    return PROTOCOL_LABELS.get(protocol, protocol)


def mode_label(mode: str, dim: int) -> str:
    """``Separated (128D)``: an evaluation mode and its embedding dimension, as Tables 7-9."""
    return f"{MODE_LABELS.get(mode, mode)} ({dim}D)"


def setting_symbol(name: str) -> str:
    """An ablated setting in the paper's notation (``𝑑``, ``α``), else in words."""
    return SETTING_SYMBOLS.get(name, name.replace("_", " "))


def setting_words(name: str) -> str:
    """An ablated setting as a caption says it ("embedding dimension 𝑑")."""
    return SETTING_WORDS.get(name, setting_symbol(name))


def is_known_metric(metric: str) -> bool:
    return metric in METRIC_LABELS or _RECALL.fullmatch(metric) is not None


def is_percent_metric(metric: str) -> bool:
    """Retrieval metrics are fractions shown in percent; the best epoch is a count."""
    return metric != BEST_EPOCH


def dataset_label(dataset: str) -> str:
    """The table label of ``dataset``: its registration's ``display``, else the name itself."""
    try:
        return get_dataset_spec(dataset).display
    except UnknownDatasetError:
        return dataset


def loss_label(loss: str) -> str:
    """The table label of ``loss`` for inputs without a ``display`` column (profiler rows): its
    registration's ``display``, the baseline's label, else the name itself. Results rows carry
    their own ``display``, which wins."""
    return _OTHER_LABELS.get(loss) or display_of(loss)


def ordered_losses(losses: Iterable[str]) -> list[str]:
    """Distinct losses in the paper's order, then others by first appearance, untrained last."""
    seen = list(dict.fromkeys(losses))
    paper = [name for name in PAPER_LOSS_ORDER if name in seen]
    others = [name for name in seen if name not in PAPER_LOSS_ORDER and name != UNTRAINED]
    return paper + others + ([UNTRAINED] if UNTRAINED in seen else [])


def ordered_datasets(datasets: Iterable[str]) -> list[str]:
    """Distinct datasets: CUB, Cars196, SOP, In-Shop, then others by first appearance."""
    seen = list(dict.fromkeys(datasets))
    return [name for name in DATASET_ORDER if name in seen] + [
        name for name in seen if name not in DATASET_ORDER
    ]


def ordered_modes(modes: Iterable[str]) -> list[str]:
    seen = list(dict.fromkeys(modes))
    return [m for m in MODES if m in seen] + [m for m in seen if m not in MODES]


def file_slug(text: str) -> str:
    """A file-name-safe version of a dataset, protocol or loss name."""
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "unnamed"
