import numpy as np
import pytest

from benchmark.data import build_folds, load_dataset, mlrc_split
from benchmark.errors import ConfigError

# MLRC's validation ranges (positions inside train+val, folds 0..3), from
# results/reference/protocols.md.
MLRC_VAL_RANGES = {
    100: [(75, 99), (0, 24), (25, 49), (50, 74)],
    98: [(74, 97), (0, 23), (25, 48), (49, 72)],
    11317: [(8488, 11316), (0, 2828), (2829, 5657), (5658, 8486)],
}


def _span(start: int, end: int) -> list[int]:
    return list(range(start, end + 1))


@pytest.mark.parametrize("num_classes", sorted(MLRC_VAL_RANGES))
def test_mlrc_folds_match_reference_validation_ranges(num_classes):
    folds = build_folds(np.arange(num_classes), n_folds=4, scheme="mlrc")
    assert [f.index for f in folds] == [0, 1, 2, 3]
    for fold, (start, end) in zip(folds, MLRC_VAL_RANGES[num_classes], strict=True):
        assert fold.val_classes.tolist() == _span(start, end)


@pytest.mark.parametrize("num_classes", sorted(MLRC_VAL_RANGES))
def test_mlrc_folds_train_on_the_other_trainval_classes_disjoint_from_validation(num_classes):
    trainval = np.arange(num_classes)
    for fold in build_folds(trainval):
        assert not set(fold.train_classes) & set(fold.val_classes)
        expected_train = np.setdiff1d(trainval, fold.val_classes)
        assert fold.train_classes.tolist() == expected_train.tolist()
        assert len(fold.train_classes) == num_classes - num_classes // 4


def test_mlrc_folds_never_validate_cars_positions_24_and_73():
    validated = np.concatenate([f.val_classes for f in build_folds(np.arange(98))])
    assert sorted(set(range(98)) - set(validated)) == [24, 73]


def test_mlrc_folds_never_validate_sop_position_8487():
    validated = np.concatenate([f.val_classes for f in build_folds(np.arange(11317))])
    assert sorted(set(range(11317)) - set(validated)) == [8487]


def test_folds_hold_global_class_indices_of_the_given_trainval_classes():
    trainval = np.arange(100, 200)
    folds = build_folds(trainval)
    assert folds[0].val_classes.tolist() == _span(175, 199)
    assert folds[1].train_classes.tolist() == _span(125, 199)


@pytest.mark.parametrize("dataset", ["cub", "cars196"])
def test_no_test_class_ever_appears_in_a_fold(dataset, cub_root, cars_root):
    index = load_dataset(dataset, cub_root if dataset == "cub" else cars_root)
    split = mlrc_split(index)
    assert not set(split.trainval_classes) & set(split.test_classes)
    for scheme in ("mlrc", "even"):
        for fold in build_folds(split.trainval_classes, 4, scheme):
            used = set(fold.train_classes) | set(fold.val_classes)
            assert used <= set(split.trainval_classes)
            assert not used & set(split.test_classes)


@pytest.mark.parametrize("num_classes", [98, 100, 11317, 7])
def test_even_folds_validate_every_class_exactly_once_in_contiguous_ranges(num_classes):
    folds = build_folds(np.arange(num_classes), n_folds=4, scheme="even")
    validated = np.concatenate([f.val_classes for f in folds])
    assert sorted(validated.tolist()) == list(range(num_classes))
    sizes = [len(f.val_classes) for f in folds]
    assert max(sizes) - min(sizes) <= 1
    for fold in folds:
        assert np.all(np.diff(fold.val_classes) == 1)
        assert not set(fold.train_classes) & set(fold.val_classes)
        assert len(fold.train_classes) + len(fold.val_classes) == num_classes
    assert folds[0].val_classes[-1] == num_classes - 1  # like MLRC, fold 0 validates the end


def test_even_folds_of_cars_cover_the_mlrc_gaps():
    folds = build_folds(np.arange(98), scheme="even")
    assert [(f.val_classes[0], f.val_classes[-1]) for f in folds] == [
        (74, 97),
        (0, 24),
        (25, 49),
        (50, 73),
    ]


def test_folds_reject_bad_settings():
    with pytest.raises(ConfigError, match="fold_scheme"):
        build_folds(np.arange(10), scheme="random")
    with pytest.raises(ConfigError, match="n_folds"):
        build_folds(np.arange(10), n_folds=1)
    with pytest.raises(ConfigError, match="3 train\\+val classes"):
        build_folds(np.arange(3), n_folds=4)
