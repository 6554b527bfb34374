"""A study that cannot work is shown before any training: folds with fewer classes than a batch
needs, and folds (or test classes) without a class of 2 images, by `mlrc data check --protocol`
and by `mlrc run`, each as one line naming the fold, the numbers and the fix."""

from __future__ import annotations

import json

import pytest
from dataset_trees import write_image

from benchmark.cli import main
from benchmark.config import load_protocol
from benchmark.data import load_dataset
from benchmark.data.fold_feasibility import batch_shapes, check_feasibility

# 40 classes: 20 train+val, folds of 15 training and 5 validation classes (MLRC's scheme).
CLASSES, IMAGES = 40, 3
FEW_CLASSES = (
    "fold 0 trains on 15 classes (folds 1, 2, 3 too), but a batch of 32 at 1 image per class "
    "(mfcwms) needs 32 distinct classes, so every trial fails; lower training.batch_size to at "
    "most 15, or use a dataset with more classes"
)


def _folder(root, classes: int = CLASSES, images: int = IMAGES):
    for c in range(classes):
        for i in range(images):
            write_image(root / f"class_{c:02d}" / f"{i}.png", c * 10 + i)
    return root


@pytest.fixture
def small_folder(tmp_path):
    return _folder(tmp_path / "folder")


def _feasibility(root, overrides=(), losses=("mfcwms", "contrastive")):
    config = load_protocol("demo", "folder", [f"data.root={root}", *overrides])
    index = load_dataset("folder", str(root), config.data)
    kinds = {"mfcwms": 1, "contrastive": 4}
    shapes = batch_shapes(32, config.training.batch_sampler, {k: kinds[k] for k in losses})
    return check_feasibility(index, config.data, shapes)


def test_folds_with_fewer_classes_than_a_batch_needs_are_a_problem_naming_the_numbers(
    small_folder,
):
    result = _feasibility(small_folder)
    assert result.problems == [FEW_CLASSES]
    # 8 classes x 4 images fit in 15 classes, but 3 images per class repeat in the batches.
    assert result.notes == [
        "fold 0: 15 of its 15 training classes have fewer than 4 images, so a batch of 32 at 4 "
        "images per class (contrastive) repeats their images"
    ]
    assert _feasibility(small_folder, losses=("contrastive",)).problems == []


def test_shuffled_batches_need_no_class_count(small_folder):
    random = _feasibility(small_folder, ["training.batch_sampler=random"])
    assert random.problems == [] and random.notes == []


def test_folds_without_a_class_of_two_images_cannot_be_scored(tmp_path):
    result = _feasibility(_folder(tmp_path / "singles", 80, 1), losses=("contrastive",))
    assert result.problems == [
        "fold 0: none of its 10 validation classes has 2 images (folds 1, 2, 3 too), so no "
        "validation image has another of its class to retrieve and every trial's score is "
        "undefined (NaN); give every class at least 2 images",
        "none of the 40 test classes has 2 images, so the test MAP@R is undefined (NaN); give "
        "every class at least 2 images",
    ]


def test_data_check_with_a_protocol_reports_a_study_that_cannot_work(small_folder, capsys):
    args = ["data", "check", "--dataset", "folder", "--root", str(small_folder)]
    assert main([*args, "--protocol", "demo"]) == 1  # for the protocol's losses
    assert "problems: 1\n  - fold 0 trains on 15 classes" in capsys.readouterr().out
    assert main([*args, "--protocol", "demo", "--losses", "mfcwms"]) == 1
    out = capsys.readouterr().out
    assert f"problems: 1\n  - {FEW_CLASSES}" in out
    assert main([*args, "--protocol", "demo", "--losses", "mfcwms", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["problems"] == [FEW_CLASSES]
    lower = ["--set", "training.batch_size=12"]  # 12 classes of 1 image fit in 15
    assert main([*args, "--protocol", "demo", "--losses", "mfcwms", *lower]) == 0
    assert "problems: none" in capsys.readouterr().out


def test_run_refuses_a_study_that_cannot_work_before_any_training(small_folder, tmp_path, capsys):
    run_dir = tmp_path / "run"
    args = ["run", "--protocol", "demo", "--dataset", "folder", "--root", str(small_folder)]
    assert main([*args, "--losses", "mfcwms", "--run-dir", str(run_dir), "--no-progress"]) == 2
    (line,) = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert line == (
        f"error: {FEW_CLASSES} (`mlrc data check --dataset folder --protocol demo` lists the "
        "folds; nothing was trained)"
    )
    assert not run_dir.exists(), "a refused run must leave no run directory to be stuck with"
