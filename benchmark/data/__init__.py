"""Datasets (a registry of layouts), class-disjoint splits and folds, image sets, transforms and
samplers.

Examples:
    >>> from benchmark.data import load_dataset, mlrc_split, build_folds
    >>> index = load_dataset("synthetic")        # or load_dataset("cub", "/data/CUB_200_2011")
    >>> split = mlrc_split(index)
    >>> [len(fold.val_classes) for fold in build_folds(split.trainval_classes, n_folds=4)]
    [12, 12, 12, 12]
"""

# The built-in layouts register themselves on import, in the order `dataset_names()` lists them.
from benchmark.data import cub, cars196, sop, inshop, folder, synthetic  # noqa: F401  # isort: skip
from benchmark.data.batch_samplers import ClassBalancedSampler, build_class_sampler
from benchmark.data.cache_folder import default_cache_dir
from benchmark.data.cars196 import read_cars196
from benchmark.data.check import check_image, find_image_problems, run_data_check
from benchmark.data.cub import read_cub
from benchmark.data.dataset_splits import (
    ClassSplit,
    TraditionalSplit,
    class_halves_split,
    mlrc_split,
)
from benchmark.data.folder import read_folder
from benchmark.data.folds import FOLD_SCHEMES, Fold, build_folds
from benchmark.data.image_cache import ImageCache, ensure_image_cache
from benchmark.data.image_set import (
    ImageSet,
    image_set_for_classes,
    image_set_for_images,
    load_image,
)
from benchmark.data.index import DatasetIndex
from benchmark.data.inshop import read_inshop
from benchmark.data.protocol_caches import (
    TEST,
    TRAINING,
    VALIDATION,
    ProtocolImageCaches,
    build_protocol_caches,
    cache_refusal,
    cached_image_ids,
    protocol_image_caches,
)
from benchmark.data.registry import (
    DatasetSpec,
    dataset_names,
    get_dataset_spec,
    list_datasets,
    load_dataset,
    register_dataset,
    traditional_split,
)
from benchmark.data.sop import read_sop
from benchmark.data.synthetic import (
    class_attributes,
    ensure_synthetic_dataset,
    load_synthetic,
    read_synthetic,
)
from benchmark.data.transforms import StagedTransform, build_transforms
from benchmark.registry import registry_restored  # noqa: F401  (benchmark/registry.py)

__all__ = [
    "FOLD_SCHEMES",
    "TEST",
    "TRAINING",
    "VALIDATION",
    "ClassBalancedSampler",
    "ClassSplit",
    "DatasetIndex",
    "DatasetSpec",
    "Fold",
    "ImageCache",
    "ImageSet",
    "ProtocolImageCaches",
    "StagedTransform",
    "TraditionalSplit",
    "build_class_sampler",
    "build_folds",
    "build_protocol_caches",
    "build_transforms",
    "cache_refusal",
    "cached_image_ids",
    "check_image",
    "class_attributes",
    "class_halves_split",
    "dataset_names",
    "default_cache_dir",
    "ensure_image_cache",
    "ensure_synthetic_dataset",
    "find_image_problems",
    "get_dataset_spec",
    "image_set_for_classes",
    "image_set_for_images",
    "list_datasets",
    "load_dataset",
    "load_image",
    "load_synthetic",
    "mlrc_split",
    "protocol_image_caches",
    "read_cars196",
    "read_cub",
    "read_folder",
    "read_inshop",
    "read_sop",
    "read_synthetic",
    "register_dataset",
    "run_data_check",
    "traditional_split",
]
