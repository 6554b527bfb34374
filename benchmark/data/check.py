"""``mlrc data check``: everything wrong with a dataset, its split and folds, without training."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from benchmark.config import DataConfig
from benchmark.data.dataset_splits import mlrc_split
from benchmark.data.fold_feasibility import BatchShape, check_feasibility
from benchmark.data.folds import build_folds
from benchmark.data.index import DatasetIndex
from benchmark.data.registry import load_dataset, traditional_split
from benchmark.errors import BenchmarkError
from benchmark.progress import tracked

MAX_PRINTED_PROBLEMS = 100
IMAGE_CHECK_THREADS = 8  # PIL releases the GIL while decoding

_logger = logging.getLogger(__name__)


def check_image(path: str | Path) -> str | None:
    """None if ``path`` opens, verifies and decodes with PIL, else a one-line problem."""
    try:
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:  # verify() leaves the image unusable: reopen to decode
            if image.format == "JPEG":  # decode at 1/8 scale: fast, still reads every byte
                image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
    except FileNotFoundError:
        return f"missing image file: {path}"
    except IsADirectoryError:
        return f"not an image file (a directory): {path}"
    except UnidentifiedImageError:
        return f"unreadable image: {path} (not an image format PIL recognises)"
    except Exception as exc:  # PIL raises many types for damaged files; all mean "unreadable"
        return f"unreadable image: {path} ({type(exc).__name__}: {exc})"
    return None


def find_image_problems(paths: tuple[Path, ...] | list[Path], progress: bool = True) -> list[str]:
    """Open every image (in threads, with a progress bar); one problem line per bad file."""
    with ThreadPoolExecutor(max_workers=IMAGE_CHECK_THREADS) as pool:
        results = pool.map(check_image, paths, chunksize=64)
        checked = tracked(
            results,
            "checking images",
            total=len(paths),
            logger=_logger,
            unit="image",
            bars=progress,
            log_every=max(1, len(paths) // 10),
        )
        return [problem for problem in checked if problem is not None]


def run_data_check(
    dataset: str,
    root: str | None,
    as_json: bool = False,
    config: DataConfig | None = None,
    progress: bool = True,
    shapes: list[BatchShape] | None = None,
) -> int:
    """Check a dataset and print a report (text, or one JSON object with ``as_json``).

    Lists every problem found: unknown dataset, missing root, missing or malformed index files,
    missing image files and images PIL cannot open or decode, and, given the batches of a
    protocol's losses (``shapes``, ``[]`` for shuffled batches), folds that cannot work (too few
    classes for a batch, no validation class with 2 images:
    :mod:`benchmark.data.fold_feasibility`); then the class and image counts, the MLRC class
    split and the folds (``config.fold_scheme`` / ``config.n_folds``), with classes given by
    their dataset class names, and notes (what only weakens the folds). Returns 0 when there is
    no problem, else 1.
    """
    config = config or DataConfig()
    problems: list[str] = []
    notes: list[str] = []
    report: dict = {
        "dataset": dataset,
        "root": None if root is None else str(root),
        "num_images": 0,
        "num_classes": 0,
        "trainval_classes": [],
        "test_classes": [],
        "folds": [],
        "problems": problems,
        "notes": notes,
    }
    index = None
    try:
        index = load_dataset(dataset, root, config)
    except BenchmarkError as exc:
        problems.append(str(exc))
    if index is not None:
        report["root"] = str(index.root)
        report["num_images"] = index.num_images
        report["num_classes"] = index.num_classes
        if index.partitions is not None:
            names, counts = np.unique(index.partitions, return_counts=True)
            report["partitions"] = {str(n): int(c) for n, c in zip(names, counts, strict=True)}
        problems.extend(find_image_problems(index.paths, progress=progress))
        if _add_splits(index, config, report, problems) and shapes is not None:
            feasibility = check_feasibility(index, config, shapes)
            problems.extend(feasibility.problems)
            notes.extend(feasibility.notes)

    if as_json:
        print(json.dumps(report))
    else:
        print(_format_report(report))
    return 1 if problems else 0


def _add_splits(index: DatasetIndex, config: DataConfig, report: dict, problems: list) -> bool:
    """Add the split and folds to ``report``; False when they cannot be made (a problem)."""
    names = np.array(index.class_names, dtype=object)
    empty = np.flatnonzero(index.class_counts() == 0)
    problems.extend(f"class '{names[c]}' has no images" for c in empty)
    try:
        split = mlrc_split(index)
    except BenchmarkError as exc:
        problems.append(str(exc))
        return False
    report["trainval_classes"] = names[split.trainval_classes].tolist()
    report["test_classes"] = names[split.test_classes].tolist()
    traditional = traditional_split(index)
    report["traditional"] = {
        "train_images": len(traditional.train),
        "query_images": len(traditional.query),
        "gallery_images": None if traditional.gallery is None else len(traditional.gallery),
    }
    report["fold_scheme"] = config.fold_scheme
    try:
        folds = build_folds(split.trainval_classes, config.n_folds, config.fold_scheme)
    except BenchmarkError as exc:
        problems.append(str(exc))
        return False
    report["folds"] = [
        {
            "train_classes": names[fold.train_classes].tolist(),
            "val_classes": names[fold.val_classes].tolist(),
        }
        for fold in folds
    ]
    # Positions inside train+val, as results/reference/protocols.md states MLRC's fold ranges.
    report["fold_ranges"] = [
        {
            "train": _ranges(np.searchsorted(split.trainval_classes, fold.train_classes)),
            "val": _ranges(np.searchsorted(split.trainval_classes, fold.val_classes)),
        }
        for fold in folds
    ]
    return True


def _ranges(positions: np.ndarray) -> str:
    """``[0, 1, 2, 5, 6]`` -> ``"0-2, 5-6"``."""
    positions = np.sort(np.asarray(positions))
    if not len(positions):
        return ""
    breaks = np.flatnonzero(np.diff(positions) != 1)
    starts = np.concatenate([[positions[0]], positions[breaks + 1]])
    ends = np.concatenate([positions[breaks], [positions[-1]]])
    return ", ".join(f"{s}-{e}" if s != e else f"{s}" for s, e in zip(starts, ends, strict=True))


def _classes(count: int) -> str:
    return f"{count} class" if count == 1 else f"{count} classes"


def _span(names: list[str]) -> str:
    if not names:
        return "none"
    if len(names) == 1:
        return f"1 class ({names[0]})"
    return f"{len(names)} classes ({names[0]} .. {names[-1]})"


def _format_report(report: dict) -> str:
    lines = [f"dataset: {report['dataset']}", f"root: {report['root']}"]
    if report["num_images"]:
        lines.append(f"images: {report['num_images']}, classes: {report['num_classes']}")
        if "partitions" in report:
            parts = ", ".join(f"{k} {v}" for k, v in report["partitions"].items())
            lines.append(f"partitions: {parts}")
    if report["trainval_classes"]:
        lines.append(f"MLRC split: train+val {_span(report['trainval_classes'])}")
        lines.append(f"            test {_span(report['test_classes'])}")
        if report["folds"]:
            lines.append(f"folds ({report['fold_scheme']}; class positions inside train+val):")
        for k, ranges in enumerate(report.get("fold_ranges", [])):
            fold = report["folds"][k]
            lines.append(
                f"  fold {k}: train {_classes(len(fold['train_classes']))} [{ranges['train']}], "
                f"val {_classes(len(fold['val_classes']))} [{ranges['val']}]"
            )
        trad = report["traditional"]
        gallery = "" if trad["gallery_images"] is None else f", gallery {trad['gallery_images']}"
        lines.append(
            f"traditional split (images): train {trad['train_images']}, "
            f"query {trad['query_images']}{gallery}"
        )
    lines.extend(f"note: {note}" for note in report["notes"])
    problems = report["problems"]
    if not problems:
        lines.append("problems: none")
        return "\n".join(lines)
    lines.append(f"problems: {len(problems)}")
    lines.extend(f"  - {p}" for p in problems[:MAX_PRINTED_PROBLEMS])
    if len(problems) > MAX_PRINTED_PROBLEMS:
        lines.append(
            f"  ... and {len(problems) - MAX_PRINTED_PROBLEMS} more (--json lists every problem)"
        )
    return "\n".join(lines)
