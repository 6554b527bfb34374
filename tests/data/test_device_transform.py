"""uint8 batches finished on the device are bitwise the float batches the pipelines made before.

The references are the float pipelines as they were before the loaders handed over uint8 pixels:
torchvision's ``ToTensor`` (+ ``Normalize``, or BN-Inception's BGR x 255 - mean) after the same
geometric steps, and the ``"small"`` pipeline's float tensor code, kept below as it was. Every
batch is compared bit for bit, from the image files and from the image cache, for the training
and the evaluation pipelines.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision import transforms as T

from benchmark.config import DataConfig, ModelConfig, TrainingConfig
from benchmark.config.image_statistics import IMAGENET_MEAN, IMAGENET_STD
from benchmark.data import (
    build_folds,
    build_transforms,
    cached_image_ids,
    image_set_for_classes,
    image_set_for_images,
    load_dataset,
    mlrc_split,
    protocol_image_caches,
    read_cub,
)
from benchmark.data.device_transform import (
    BNINCEPTION_MEAN,
    NORMALIZATIONS,
    FloatOnHost,
    PixelCrops,
    collate_fn_of,
    device_transform_of,
)
from benchmark.data.transforms import device_transform_of_pipeline
from benchmark.engine import LossBundle, Trainer
from benchmark.engine.train_loader import build_train_loader
from benchmark.models import build_model
from benchmark.profiling.cub_jpeg import ensure_cub_jpeg_tree

TRAINING = TrainingConfig(batch_size=8, iterations_per_epoch=4)
SEED = 5


class FloatSmallTransform:
    """The ``"small"`` pipeline as it was: float pixels in [-1, 1], then crop, flip, resize."""

    def __init__(self, size: int, train: bool, scale=(0.6, 1.0), ratio=(3 / 4, 4 / 3)):
        self.size, self.train, self.scale, self.ratio = (size, size), train, scale, ratio

    def __call__(self, image) -> torch.Tensor:
        pixels = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy())
        tensor = pixels.permute(2, 0, 1).float().div_(127.5).sub_(1.0)
        if self.train:
            draws = torch.rand(11, 4).tolist()
            top, left, height, width = self._crop_box(*tensor.shape[-2:], draws[:10])
            tensor = tensor[:, top : top + height, left : left + width]
            if draws[10][0] < 0.5:
                tensor = tensor.flip(-1)
        if tuple(tensor.shape[-2:]) != self.size:
            tensor = F.interpolate(
                tensor[None], size=self.size, mode="bilinear", align_corners=False, antialias=True
            )[0]
        return tensor

    def _crop_box(self, height, width, draws):
        area = height * width
        log_low, log_high = math.log(self.ratio[0]), math.log(self.ratio[1])
        for u_area, u_ratio, u_top, u_left in draws:
            target = area * (self.scale[0] + u_area * (self.scale[1] - self.scale[0]))
            aspect = math.exp(log_low + u_ratio * (log_high - log_low))
            w = round(math.sqrt(target * aspect))
            h = round(math.sqrt(target / aspect))
            if 0 < w <= width and 0 < h <= height:
                return int(u_top * (height - h + 1)), int(u_left * (width - w + 1)), h, w
        side = min(height, width)
        return (height - side) // 2, (width - side) // 2, side, side


def _float_bgr255(image) -> torch.Tensor:
    return T.ToTensor()(image).flip(0) * 255.0 - torch.tensor(BNINCEPTION_MEAN).view(3, 1, 1)


FLOAT_CONVERSIONS = {
    "bninception": _float_bgr255,
    "imagenet": T.Compose([T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)]),
}


def float_pipelines(data: DataConfig) -> tuple:
    """The (train, eval) float pipelines of ``data`` before uint8 batches."""
    if data.transform == "small":
        return (
            FloatSmallTransform(data.image_size, True, tuple(data.crop_scale)),
            FloatSmallTransform(data.image_size, False),
        )
    return tuple(
        T.Compose([*pipeline.transforms[:-1], FLOAT_CONVERSIONS[data.transform]])
        for pipeline in build_transforms(data)
    )


def _epoch(image_set, num_workers: int = 0) -> list:
    """Every batch of one seeded training epoch over ``image_set``, as the loader delivers it."""
    loader = build_train_loader(
        image_set, TRAINING, images_per_class=2, seed=SEED, num_workers=num_workers
    )
    loader.sampler.set_epoch(1)
    torch.manual_seed(SEED)
    return [images for images, _ in loader]


def _evaluation(image_set) -> list:
    loader = torch.utils.data.DataLoader(
        image_set, batch_size=8, collate_fn=collate_fn_of(image_set)
    )
    return [images for images, _ in loader]


def _finished(image_set, batches: list) -> list[torch.Tensor]:
    finish = device_transform_of(image_set)
    return [finish(batch) for batch in batches]


def _assert_bitwise(first: list[torch.Tensor], second: list[torch.Tensor]) -> None:
    assert len(first) == len(second) > 0
    for a, b in zip(first, second, strict=True):
        assert a.dtype == b.dtype == torch.float32 and a.shape == b.shape
        assert torch.equal(a, b), f"{(a != b).sum()} values differ"


@pytest.fixture(scope="module")
def cub_jpegs(tmp_path_factory) -> Path:
    """A CUB-layout tree of 8 classes x 3 non-square JPEG files."""
    return ensure_cub_jpeg_tree(
        8, 3, image_size=80, image_height=60, cache_dir=tmp_path_factory.mktemp("tree")
    )


def _check_both_roles(index, data: DataConfig, num_workers: int = 0) -> list[int]:
    """Training and evaluation batches: uint8 (files and cache) finished == float (files).
    Returns the bytes of each uint8 training batch's images."""
    float_train, float_eval = float_pipelines(data)
    train_tf, eval_tf = build_transforms(data)
    ids = cached_image_ids(index, data)
    cached = replace(data, cache_images=True)
    caches = protocol_image_caches(index, cached, train_tf, eval_tf, progress=False)
    expected = _epoch(image_set_for_images(index, ids["training"], float_train), num_workers)
    uint8_bytes = []
    for cache in (None, caches.train):
        train_set = image_set_for_images(index, ids["training"], train_tf, image_cache=cache)
        batches = _epoch(train_set, num_workers)
        uint8_bytes += [_images_bytes(batch) for batch in batches]
        _assert_bitwise(_finished(train_set, batches), expected)
    expected = _evaluation(image_set_for_images(index, ids["test"], float_eval))
    for cache in (None, caches.test):
        eval_set = image_set_for_images(index, ids["test"], eval_tf, image_cache=cache)
        _assert_bitwise(_finished(eval_set, _evaluation(eval_set)), expected)
    return uint8_bytes


def _images_bytes(batch) -> int:
    if isinstance(batch, PixelCrops):
        return batch.pixels.nbytes
    assert batch.dtype == torch.uint8
    return batch.nbytes


@pytest.mark.parametrize("transform", ["bninception", "imagenet"])
@pytest.mark.parametrize("num_workers", [0, 2])
def test_mlrc_uint8_batches_finished_are_bitwise_the_float_batches(
    cub_jpegs, tmp_path, transform, num_workers
):
    data = DataConfig(
        transform=transform, resize=64, image_size=56, num_workers=0, cache_dir=str(tmp_path)
    )
    uint8_bytes = _check_both_roles(read_cub(cub_jpegs), data, num_workers)
    assert set(uint8_bytes) == {8 * 3 * 56 * 56}  # a quarter of the float32 batch's bytes


def test_traditional_crop_of_the_original_image_is_bitwise_too(cub_jpegs, tmp_path):
    data = DataConfig(
        transform="bninception", split="traditional", resize=64, resize_before_crop=False,
        image_size=48, cache_dir=str(tmp_path),
    )  # fmt: skip
    _check_both_roles(read_cub(cub_jpegs), data)


def test_demo_uint8_batches_finished_are_bitwise_the_float_batches(tmp_path, monkeypatch):
    monkeypatch.setenv("MLRC_CACHE_DIR", str(tmp_path))
    data = DataConfig(
        transform="small", resize=32, image_size=32, crop_scale=(0.6, 1.0), num_workers=0,
        synthetic_classes=8, synthetic_images_per_class=4, cache_dir=str(tmp_path),
    )  # fmt: skip
    uint8_bytes = _check_both_roles(load_dataset("synthetic", None, data), data)
    assert max(uint8_bytes) <= 8 * 32 * 32 * 3  # the crops, at most the 32 x 32 images


def test_small_crops_of_different_sizes_are_padded_and_finished_each_at_its_size():
    train, evaluation = build_transforms(DataConfig(transform="small", image_size=16))
    generator = torch.Generator().manual_seed(0)
    images = [
        Image.fromarray(torch.randint(0, 256, (h, w, 3), generator=generator).byte().numpy())
        for h, w in [(16, 16), (20, 13), (9, 31)]
    ]
    finish = device_transform_of(image_set_like(evaluation))
    batch = finish.collate([evaluation(image) for image in images])
    assert batch.pixels.shape == (3, 20, 31, 3) and batch.sizes.tolist() == [
        [16, 16],
        [20, 13],
        [9, 31],
    ]
    reference = FloatSmallTransform(16, train=False)
    assert torch.equal(finish(batch), torch.stack([reference(image) for image in images]))


def image_set_like(pipeline):
    """An object whose items a pipeline makes (what ``device_transform_of`` reads)."""
    return type("Items", (), {"device_transform": pipeline.device_transform})()


@pytest.mark.parametrize("name", sorted(NORMALIZATIONS))
def test_the_lookup_of_other_devices_gives_the_cpu_arithmetic_for_every_pixel_value(name):
    normalization = NORMALIZATIONS[name]()
    generator = torch.Generator().manual_seed(1)
    pixels = torch.randint(0, 256, (4, 3, 9, 7), dtype=torch.uint8, generator=generator)
    pixels[0, :, 0, :] = torch.arange(256, dtype=torch.uint8)[:7].expand(3, 7)
    every_value = torch.arange(256, dtype=torch.uint8).view(1, 1, 256).repeat(3, 1, 1)
    for batch, channel_dim in ((pixels, 1), (pixels.permute(0, 2, 3, 1), -1), (every_value, 0)):
        computed = normalization.compute(batch, channel_dim)
        assert torch.equal(normalization.lookup(batch, channel_dim), computed)
        assert torch.equal(normalization(batch, channel_dim), computed)  # the CPU computes


def test_the_float_on_host_baseline_delivers_the_float_batches(cub_jpegs, tmp_path):
    data = DataConfig(transform="bninception", resize=64, image_size=56, cache_dir=str(tmp_path))
    index = read_cub(cub_jpegs)
    ids = cached_image_ids(index, data)["training"]
    float_train, _ = float_pipelines(data)
    train_tf, _ = build_transforms(data)
    baseline = FloatOnHost(image_set_for_images(index, ids, train_tf))
    assert device_transform_of(baseline) is None
    _assert_bitwise(_epoch(baseline), _epoch(image_set_for_images(index, ids, float_train)))


def test_a_demo_fold_trains_bitwise_as_on_the_float_batches(tmp_path, monkeypatch):
    """The demo's pipeline end to end (the cache, uint8 batches finished by the Trainer and the
    evaluation): the learning curve and the final weights are bitwise those of the same fold
    trained on the float batches of before (read from the files)."""
    monkeypatch.setenv("MLRC_CACHE_DIR", str(tmp_path))
    data = DataConfig(
        transform="small", resize=32, image_size=32, crop_scale=(0.6, 1.0), cache_images=True,
        synthetic_classes=16, synthetic_images_per_class=10, cache_dir=str(tmp_path),
    )  # fmt: skip
    index = load_dataset("synthetic", None, data)
    fold = build_folds(mlrc_split(index).trainval_classes, 4, "mlrc")[0]
    uint8_pipelines = build_transforms(data)
    caches = protocol_image_caches(index, data, *uint8_pipelines, progress=False)
    training = TrainingConfig(
        batch_size=8, iterations_per_epoch=6, eval_every_epochs=1, max_epochs=3,
        trunk_lr=1e-3, embedder_lr=1e-3, device="cpu",
    )  # fmt: skip
    fits = []
    for pipelines, cache in ((uint8_pipelines, caches), (float_pipelines(data), None)):
        train = image_set_for_classes(
            index, fold.train_classes, pipelines[0], image_cache=cache and cache.train
        )
        val = image_set_for_classes(
            index, fold.val_classes, pipelines[1], image_cache=cache and cache.validation
        )
        torch.manual_seed(0)
        model = build_model(ModelConfig(trunk="small_cnn", weights="none", small_cnn_width=8))
        loss = LossBundle.build("contrastive", {}, train.num_classes, 128)
        fit_dir = tmp_path / f"fit-{len(fits)}"
        result = Trainer(model, loss, training, fit_dir, seed=0, progress=False).fit(train, val)
        fits.append((result.curve, model.state_dict()))
    (uint8_curve, uint8_weights), (float_curve, float_weights) = fits
    assert device_transform_of(train) is None  # the second fit read float batches
    assert len(uint8_curve) == 4 and uint8_curve == float_curve  # every loss and MAP@R value
    assert all(torch.equal(uint8_weights[k], float_weights[k]) for k in float_weights)


def test_a_trunk_mean_and_std_finish_bitwise_as_to_tensor_and_normalize():
    """``data.transform: trunk`` (a registered trunk's mean/std): uint8 pixels finished on the
    device are bitwise torchvision's float pipeline of before."""
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 0.125)
    data = DataConfig(transform="trunk", resize=40, image_size=24)
    _, evaluation = build_transforms(data, trunk_mean_std=(mean, std))
    generator = torch.Generator().manual_seed(2)
    pixels = torch.randint(0, 256, (30, 40, 3), dtype=torch.uint8, generator=generator).numpy()
    image = Image.fromarray(pixels)
    reference = T.Compose([T.Resize(40), T.CenterCrop(24), T.ToTensor(), T.Normalize(mean, std)])(
        image
    )
    finish = device_transform_of_pipeline(evaluation)
    assert torch.equal(finish.one(evaluation(image)), reference)
