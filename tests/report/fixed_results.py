"""A small fixed results file with every kind of row, for the golden-file and statistics tests.

Values are plain arithmetic (no random numbers), so the golden files never depend on a random
generator's version. What the rows exercise:

- Table 1 / Tables 7-9: CUB, Cars196 and SOP; published configurations (CWMS from
  ``mlrc2020``, marked; on CUB, ArcFace both searched and from ``mlrc2020``, two rows); a user's loss with a single repeat (``mine``), the highest mean of
  every Cars196 column (thin cells: never best, never the reference of the tests); CWMS with
  two repeats on Cars196, below the column's three; a non-finite value (ProxyAnchor, CUB,
  separated MAP@R, repeat 2: dropped, that cell has n = 2); ProxyAnchor missing on Cars196
  ("—"); SOP with a single compared loss; on Cars196 (concatenated) R-Precision of two losses
  with zero variance and equal means, and P@1 with zero variance and different means;
- the traditional protocol (``single``) with best epochs on CUB, none recorded on Cars196 (an
  all-missing column, left out);
- the ablations mf-reg (one setting missing), batch-size, embedding-dim (two modes),
  alpha-base (some single-repeat cells) and inshop-batch-size-no-split.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

REPEAT_OFFSETS = (-1.0, 0.2, 0.8)  # times a loss's spread
# loss -> (display, level, spread, params_source)
LOSSES = {
    "arcface": ("ArcFace", 0.20, 0.010, "search"),
    "arcface_mlrc2020": ("ArcFace", 0.215, 0.006, "mlrc2020"),
    "proxy_anchor": ("ProxyAnch.", 0.300, 0.012, "search"),
    "cwms": ("CWMS", 0.26, 0.006, "mlrc2020"),
    "mfcwms": ("MFCWMS", 0.31, 0.008, "search"),
    "mine": ("Mine", 0.28, 0.010, "search"),
    "untrained": ("no training", 0.12, 0.004, "none"),
}
DATASET_SHIFT = {"cub": 0.0, "cars196": 0.05, "sop": -0.10, "inshop": 0.2}
METRIC_SHIFT = {"map_at_r": 0.0, "precision_at_1": 0.35, "r_precision": 0.10, "recall_at_2": 0.45}
MAIN_METRICS = ("map_at_r", "precision_at_1", "r_precision")
# (dataset, loss, repeat, mode, metric) of the one result whose value is NaN.
NON_FINITE = ("cub", "proxy_anchor", 2, "separated", "map_at_r")
# The table files (stems) the fixed results, reference and profile give.
GOLDEN_STEMS = [
    "table1",
    "table_full_cub_mlrc",
    "table_full_cub_traditional",
    "table_full_cars196_mlrc",
    "table_full_cars196_traditional",
    "table_full_sop",
    "table_mlrc_cub",
    "table_mlrc_cars196",
    "table_mlrc_sop",
    "table2_3_traditional",
    "table4_5_10_batch_size",
    "table6_mf_reg",
    "table11_inshop_batch_size_no_split",
    "table_embedding_dim",
    "table_alpha_base",
    "table_reference",
    "table_runtime",
]


def _row(dataset, protocol, loss, repeat, mode, dim, metric, value, **extra):
    display, _, _, source = LOSSES.get(loss, (loss, 0, 0, "search"))
    row = {
        "dataset": dataset,
        "protocol": protocol,
        "loss": loss,
        "display": display,
        "repeat": repeat,
        "mode": mode,
        "dim": dim,
        "metric": metric,
        "value": value if math.isnan(value) else round(value, 6),
        "params": "{}",
        "params_source": source if loss in LOSSES else "search",
        "seeds": json.dumps([1000 + 100 * repeat]),
        "best_iterations": "[0]",
        "best_epochs": "",
        "ablation": "",
        "ablation_value": "",
        "code_version": "0.1.0+test",
    }
    row.update(extra)
    return row


def _value(loss, dataset, metric, repeat, shift=0.0):
    _, level, spread, _ = LOSSES[loss]
    return (
        level
        + DATASET_SHIFT[dataset]
        + METRIC_SHIFT[metric]
        + shift
        + spread * REPEAT_OFFSETS[repeat]
    )


def main_rows() -> list[dict]:
    rows = []
    losses_of = {
        "cub": [
            "arcface",
            "arcface_mlrc2020",
            "proxy_anchor",
            "cwms",
            "mfcwms",
            "mine",
            "untrained",
        ],
        "cars196": ["arcface", "cwms", "mfcwms", "mine", "untrained"],
        "sop": ["arcface", "untrained"],
    }
    for dataset, losses in losses_of.items():
        for loss in losses:
            repeats = (0,) if loss == "mine" else (0, 1, 2)
            if (dataset, loss) == ("cars196", "cwms"):
                repeats = (0, 1)  # fewer repeats than the rest of its columns
            for repeat in repeats:
                for mode, dim, shift in (("separated", 128, -0.02), ("concatenated", 512, 0.0)):
                    # A single repeat above every other mean of its columns.
                    lift = 0.1 if (dataset, loss) == ("cars196", "mine") else 0.0
                    for metric in MAIN_METRICS:
                        value = _value(loss, dataset, metric, repeat, shift + lift)
                        if (dataset, loss, repeat, mode, metric) == NON_FINITE:
                            value = math.nan
                        if dataset == "cars196" and mode == "concatenated":
                            if metric == "r_precision" and loss in ("arcface", "mfcwms"):
                                value = 0.45  # zero variance, equal means: both best
                            if metric == "precision_at_1" and loss in ("arcface", "mfcwms"):
                                value = 0.70 if loss == "mfcwms" else 0.50  # zero variance
                        if loss == "arcface_mlrc2020":  # ArcFace again, MLRC's parameters
                            rows.append(_row(dataset, "mlrc", "arcface", repeat, mode, dim,
                                             metric, value, params_source="mlrc2020"))  # fmt: skip
                            continue
                        rows.append(_row(dataset, "mlrc", loss, repeat, mode, dim, metric, value))
    return rows


def traditional_rows() -> list[dict]:
    rows = []
    for dataset in ("cub", "cars196"):
        for loss, display in (
            ("proxy_anchor", "ProxyAnch."),
            ("mfcont", "MFCont."),
            ("mfcwms", "MFCWMS"),
        ):
            for repeat in (0, 1, 2):
                epochs = json.dumps([10 + 3 * repeat + len(loss) % 4]) if dataset == "cub" else ""
                for metric in ("map_at_r", "precision_at_1", "r_precision", "recall_at_2"):
                    base = LOSSES.get(loss, (display, 0.29, 0.009, ""))
                    value = base[1] + DATASET_SHIFT[dataset] + METRIC_SHIFT[metric]
                    value += base[2] * REPEAT_OFFSETS[repeat]
                    rows.append(
                        _row(dataset, "traditional", loss, repeat, "single", 512, metric, value,
                             display=display, params_source="protocol", best_epochs=epochs)
                    )  # fmt: skip
    return rows


def _ablation(ablation, dataset, protocol, loss, setting, value, repeats=3, mode="single", dim=512):
    """The MAP@R rows of one ablated setting of one loss."""
    display = {"mfcont": "MFCont.", "mfcwms": "MFCWMS", "proxy_anchor": "ProxyAnch."}[loss]
    return [
        _row(
            dataset,
            protocol,
            loss,
            repeat,
            mode,
            dim,
            "map_at_r",
            value + 0.01 * REPEAT_OFFSETS[repeat],
            display=display,
            params_source="protocol",
            ablation=ablation,
            ablation_value=json.dumps(setting),
        )  # fmt: skip
        for repeat in range(repeats)
    ]


def ablation_rows() -> list[dict]:
    rows = []
    for loss in ("mfcont", "mfcwms"):
        for k, mf_reg in enumerate((0, 0.01, 0.1, 1, 10, 100)):
            if loss == "mfcont" and mf_reg == 100:
                continue  # a missing cell
            value = 0.30 + 0.004 * k - 0.0015 * k * k
            rows += _ablation("mf-reg", "cub", "traditional", loss, {"mf_reg": mf_reg}, value)
    for dataset in ("cub", "cars196"):
        for k, batch_size in enumerate((32, 180, 1024)):
            value = 0.3 + DATASET_SHIFT[dataset] + 0.01 * k
            setting = {"batch_size": batch_size}
            rows += _ablation("batch-size", dataset, "traditional", "mfcwms", setting, value)
    for loss in ("proxy_anchor", "mfcwms"):
        own = 0.01 if loss == "mfcwms" else 0.0
        for k, batch_size in enumerate((32, 180)):
            setting, value = {"batch_size": batch_size}, 0.5 + 0.02 * k + own
            name = "inshop-batch-size-no-split"
            rows += _ablation(name, "inshop", "traditional", loss, setting, value)
        for k, size in enumerate((64, 128, 256)):
            for mode, dim, shift in (("separated", size, 0.0), ("concatenated", 4 * size, 0.03)):
                value = 0.23 + 0.02 * k + shift + 2 * own
                setting = {"embedding_size": size}
                rows += _ablation(
                    "embedding-dim", "cub", "mlrc", loss, setting, value, mode=mode, dim=dim
                )
    for i, alpha in enumerate((0.01, 1.0, 10.0)):
        for j, base in enumerate((0.5, 0.8)):
            single = alpha == 10.0  # single-repeat cells: no interval, not tested
            value = (0.265 if single else 0.28 + 0.01 * i) + 0.02 * j
            setting = {"alpha": alpha, "base": base}
            repeats = 1 if single else 3
            rows += _ablation("alpha-base", "cub", "traditional", "mfcwms", setting, value, repeats)
    return rows


def fixed_results() -> pd.DataFrame:
    return pd.DataFrame.from_records(main_rows() + traditional_rows() + ablation_rows())


def write_fixed_results(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fixed_results().to_csv(path, index=False)
    return path


def write_reference(path: Path) -> Path:
    """Published values: one inside our interval, one without an interval, one we lack."""
    path.write_text(
        "dataset,loss,mode,dim,metric,mean,ci_low,ci_high,n,source\n"
        "cub,mfcwms,concatenated,512,map_at_r,0.312,0.305,0.319,10,Paper Table 1\n"
        "cub,arcface,concatenated,512,map_at_r,0.25,,,,MLRC Table 3\n"
        "sop,mfcwms,concatenated,512,map_at_r,0.5,0.49,0.51,10,Paper Table 1\n"
    )
    return path


def write_profile(path: Path) -> Path:
    """Rows as `mlrc profile losses` writes them, one combination skipped."""
    header = (
        "loss,batch_size,num_classes,embedding_size,device,status,time_ms,peak_memory_mb,value,"
        "time_vs_proxy_anchor,memory_vs_proxy_anchor,time_vs_direct_cxc,memory_vs_direct_cxc,"
        "value_rel_diff_vs_direct_cxc\n"
    )
    lines = [
        "mfcwms,32,100,512,cpu,ok,1.5,2.25,0.7,0.75,0.9,0.5,0.1,1e-07",
        "proxy_anchor,32,100,512,cpu,ok,2.0,2.5,0.8,1.0,1.0,,,",
        "mfcwms_direct_cxc,32,100,512,cpu,ok,3.0,22.5,0.7,1.5,9.0,,,",
        "mfcwms,180,1000,512,cpu,ok,4.25,8.0,0.6,0.85,0.5,0.2,0.05,2e-07",
        "proxy_anchor,180,1000,512,cpu,ok,5.0,16.0,0.65,1.0,1.0,,,",
        "mfcwms_direct_cxc,180,1000,512,cpu,skipped: the C x C matrix exceeds the limit,,,,,,,,",
    ]
    path.write_text(header + "\n".join(lines) + "\n")
    return path


def demo_rows(dataset: str = "synthetic", repeats: int = 2) -> pd.DataFrame:
    """Rows like a demo run's: two losses and the untrained baseline, separated and concatenated."""
    levels = {
        "contrastive": ("Cont.", 0.05),
        "mfcwms": ("MFCWMS", 0.11),
        "untrained": ("no training", 0.013),
    }
    rows = []
    for loss, (display, level) in levels.items():
        for repeat in range(repeats):
            for mode, dim, shift in (("separated", 128, 0.0), ("concatenated", 512, 0.02)):
                for metric, metric_shift in (
                    ("map_at_r", 0.0),
                    ("precision_at_1", 0.2),
                    ("r_precision", 0.05),
                ):
                    value = (
                        level + shift + metric_shift + 0.004 * (repeat - 0.5) * (1 + len(loss) % 3)
                    )
                    source = "none" if loss == "untrained" else "search"
                    rows.append(
                        _row(dataset, "demo", loss, repeat, mode, dim, metric, value,
                             display=display, params_source=source)
                    )  # fmt: skip
    return pd.DataFrame.from_records(rows)
