import torch
from PIL import Image
from torchvision import transforms as T

from benchmark.config import DataConfig
from benchmark.data import build_transforms


def _red(size=(300, 260)):
    return Image.new("RGB", size, (255, 0, 0))


def test_bninception_eval_is_resize_center_crop_then_bgr_0_255_minus_caffe_mean():
    _, evaluation = build_transforms(DataConfig(transform="bninception"))
    out = evaluation(_red())
    assert out.shape == (3, 227, 227)
    # BGR order: blue (0) - 104, green (0) - 117, red (255) - 128
    assert torch.allclose(out[:, 100, 100], torch.tensor([-104.0, -117.0, 127.0]))


def test_bninception_train_crops_to_image_size():
    train, _ = build_transforms(DataConfig(transform="bninception"))
    names = [type(t).__name__ for t in train.transforms]
    assert names[:3] == ["Resize", "RandomResizedCrop", "RandomHorizontalFlip"]
    assert train.transforms[1].scale == (0.16, 1.0)
    assert train(_red()).shape == (3, 227, 227)


def test_traditional_geometry_can_crop_without_resizing_first():
    config = DataConfig(transform="bninception", image_size=224)
    train, evaluation = build_transforms(config, resize_before_crop=False)
    assert type(train.transforms[0]).__name__ == "RandomResizedCrop"
    assert train(_red()).shape == evaluation(_red()).shape == (3, 224, 224)


def test_imagenet_transform_uses_imagenet_mean_and_std():
    _, evaluation = build_transforms(DataConfig(transform="imagenet", image_size=224))
    out = evaluation(_red())
    expected = torch.tensor([(1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (0 - 0.406) / 0.225])
    assert out.shape == (3, 224, 224)
    assert torch.allclose(out[:, 5, 5], expected, atol=1e-5)


def test_small_transform_keeps_small_images_small_and_normalises_to_minus_one_one():
    config = DataConfig(transform="small", image_size=32, crop_scale=(0.6, 1.0))
    train, evaluation = build_transforms(config)
    image = Image.new("RGB", (32, 32), (255, 0, 255))
    assert train(image).shape == evaluation(image).shape == (3, 32, 32)
    assert torch.allclose(evaluation(image)[:, 0, 0], torch.tensor([1.0, -1.0, 1.0]))
    assert train.scale == (0.6, 1.0)
    larger = Image.new("RGB", (48, 40), (0, 0, 0))
    assert evaluation(larger).shape == (3, 32, 32)


def test_small_train_crop_follows_torchvision_random_resized_crop_distribution():
    from benchmark.data.transforms import SmallImageTransform

    transform = SmallImageTransform(32, train=True, scale=(0.2, 1.0))
    generator = torch.Generator().manual_seed(0)
    ours = []
    for _ in range(2000):
        draws = torch.rand(10, 4, generator=generator).tolist()
        top, left, height, width = transform._crop_box(64, 48, draws)
        assert 0 <= top <= 64 - height and 0 <= left <= 48 - width
        ours.append(height * width / (64 * 48))
    torch.manual_seed(0)
    theirs = []
    for _ in range(2000):
        box = T.RandomResizedCrop.get_params(torch.zeros(3, 64, 48), (0.2, 1.0), (3 / 4, 4 / 3))
        theirs.append(box[2] * box[3] / (64 * 48))
    assert abs(sum(ours) / 2000 - sum(theirs) / 2000) < 0.02
    assert min(ours) >= 0.19 and max(ours) <= 1.0


def test_small_train_transform_is_reproducible_under_the_torch_seed():
    config = DataConfig(transform="small", image_size=32)
    train, _ = build_transforms(config)
    image = Image.fromarray((torch.rand(32, 32, 3) * 255).byte().numpy())
    torch.manual_seed(3)
    first = [train(image) for _ in range(5)]
    torch.manual_seed(3)
    assert all(torch.equal(a, train(image)) for a in first)


def test_bninception_tensor_conversion_is_bitwise_totensor_then_bgr_times_255_minus_mean():
    from benchmark.data.transforms import BNINCEPTION_MEAN, ToBGR255Tensor

    generator = torch.Generator().manual_seed(0)
    for size in [(227, 227), (31, 17)]:
        pixels = torch.randint(0, 256, (*size, 3), dtype=torch.uint8, generator=generator)
        image = Image.fromarray(pixels.numpy())
        mean = torch.tensor(BNINCEPTION_MEAN).view(3, 1, 1)
        expected = T.ToTensor()(image).flip(0) * 255.0 - mean
        converted = ToBGR255Tensor()(image)
        assert converted.dtype == torch.float32 and torch.equal(converted, expected)


def test_random_resized_crop_of_pixels_is_bitwise_that_of_the_pil_image():
    from benchmark.data.transforms import PixelsRandomResizedCrop

    crop = T.RandomResizedCrop(57, scale=(0.16, 1.0))
    generator = torch.Generator().manual_seed(1)
    for height, width in [(64, 85), (85, 64), (57, 57), (120, 31)]:
        pixels = torch.randint(0, 256, (height, width, 3), dtype=torch.uint8, generator=generator)
        pixels = pixels.numpy()
        for seed in range(20):
            torch.manual_seed(seed)
            expected = crop(Image.fromarray(pixels))
            after_expected = torch.rand(1)  # the same random numbers were drawn
            torch.manual_seed(seed)
            cropped = PixelsRandomResizedCrop(crop)(pixels)
            assert torch.rand(1) == after_expected
            assert cropped.size == expected.size == (57, 57)
            assert cropped.tobytes() == expected.tobytes()
