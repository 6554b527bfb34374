"""Datasets (a registry of layouts), class-disjoint splits and folds, image sets, transforms and
samplers.

Examples:
    >>> from benchmark.data import load_dataset, mlrc_split, build_folds
    >>> index = load_dataset("synthetic")        # or load_dataset("cub", "/data/CUB_200_2011")
    >>> split = mlrc_split(index)
    >>> [len(fold.val_classes) for fold in build_folds(split.trainval_classes, n_folds=4)]
    [12, 12, 12, 12]
"""

# The built-in layouts register themselves on import, in the order `dataset_names()` lists them;
# the rest loads on first use (PEP 562), so that naming a dataset does not import torch.
from benchmark.data import cub, cars196, sop, inshop, folder, synthetic  # noqa: F401  # isort: skip

from benchmark._lazy import lazy_exports  # noqa: E402

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "batch_samplers": ("ClassBalancedSampler", "build_class_sampler"),
        "cache_folder": ("default_cache_dir",),
        "cars196": ("read_cars196",),
        "check": ("check_image", "find_image_problems", "run_data_check"),
        "cub": ("read_cub",),
        "dataset_splits": ("ClassSplit", "TraditionalSplit", "class_halves_split", "mlrc_split"),
        "folder": ("read_folder",),
        "folds": ("FOLD_SCHEMES", "Fold", "build_folds"),
        "image_cache": ("ImageCache", "ensure_image_cache"),
        "image_set": ("ImageSet", "image_set_for_classes", "image_set_for_images", "load_image"),
        "index": ("DatasetIndex",),
        "inshop": ("read_inshop",),
        "protocol_caches": (
            "TEST",
            "TRAINING",
            "VALIDATION",
            "ProtocolImageCaches",
            "build_protocol_caches",
            "cache_refusal",
            "cached_image_ids",
            "protocol_image_caches",
        ),
        "registry": (
            "DatasetSpec",
            "dataset_names",
            "get_dataset_spec",
            "list_datasets",
            "load_dataset",
            "register_dataset",
            "traditional_split",
        ),
        "sop": ("read_sop",),
        "synthetic": (
            "class_attributes",
            "ensure_synthetic_dataset",
            "load_synthetic",
            "read_synthetic",
        ),
        "transforms": ("StagedTransform", "build_transforms"),
    },
)
