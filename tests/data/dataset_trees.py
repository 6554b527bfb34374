"""Fake dataset trees in the authors' real layouts, with tiny generated images (imported by
the data tests and their fixtures in conftest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image

CUB_CLASSES = 200
CARS_CLASSES = 196


def write_image(path: Path, value: int = 0, size: int = 8) -> Path:
    """A tiny solid-colour image (format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = (value * 37 % 256, value * 91 % 256, value * 13 % 256)
    Image.new("RGB", (size, size), colour).save(path)
    return path


def cub_class_name(class_id: int) -> str:
    special = {1: "Black_footed_Albatross", 200: "Common_Yellowthroat"}
    return f"{class_id:03d}.{special.get(class_id, f'Species_{class_id}')}"


def make_cub(parent: Path, num_classes: int = CUB_CLASSES, per_class: int = 2) -> Path:
    """``parent/CUB_200_2011`` with images.txt, image_class_labels.txt, classes.txt, images/."""
    root = parent / "CUB_200_2011"
    images, labels, classes, split = [], [], [], []
    image_id = 0
    for class_id in range(1, num_classes + 1):
        name = cub_class_name(class_id)
        classes.append(f"{class_id} {name}")
        for j in range(per_class):
            image_id += 1
            relative = f"{name}/{name.split('.')[1]}_{j:04d}_{image_id}.jpg"
            write_image(root / "images" / relative, image_id)
            images.append(f"{image_id} {relative}")
            labels.append(f"{image_id} {class_id}")
            split.append(f"{image_id} {j % 2}")
        # macOS resource forks next to the images, as in some copies of the archive
        (root / "images" / name / f"._{name.split('.')[1]}_0000.jpg").write_bytes(b"\x00\x05")
    (root / "images.txt").write_text("\n".join(images) + "\n")
    (root / "image_class_labels.txt").write_text("\n".join(labels) + "\n")
    (root / "classes.txt").write_text("\n".join(classes) + "\n")
    (root / "train_test_split.txt").write_text("\n".join(split) + "\n")
    (root / "bounding_boxes.txt").write_text(
        "\n".join(f"{i} 1.0 2.0 3.0 4.0" for i in range(1, image_id + 1)) + "\n"
    )
    return root


def make_cars196(parent: Path, num_classes: int = CARS_CLASSES, per_class: int = 2) -> Path:
    """``parent/cars196`` with cars_annos.mat (struct array ``annotations``) and car_ims/."""
    root = parent / "cars196"
    fields = ["relative_im_path", "bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "class", "test"]
    count = num_classes * per_class
    annotations = np.zeros((1, count), dtype=[(f, "O") for f in fields])
    rng = np.random.default_rng(0)
    # Image order interleaves the classes, as in the real file.
    class_of_image = np.tile(np.arange(1, num_classes + 1), per_class)
    for i, class_id in enumerate(class_of_image):
        relative = f"car_ims/{i + 1:06d}.jpg"
        write_image(root / relative, i)
        annotations[0, i] = (relative, 1, 2, 30, 40, int(class_id), int(rng.integers(0, 2)))
    class_names = np.array([[f"Make Model {c}" for c in range(1, num_classes + 1)]], dtype=object)
    scipy.io.savemat(
        root / "cars_annos.mat", {"annotations": annotations, "class_names": class_names}
    )
    return root


def make_sop(parent: Path, train_classes: int = 6, test_classes: int = 6, per_class: int = 2):
    """``parent/Stanford_Online_Products`` with Ebay_train.txt / Ebay_test.txt and images."""
    root = parent / "Stanford_Online_Products"
    header = "image_id class_id super_class_id path"
    categories = ["bicycle_final", "cabinet_final", "chair_final"]
    image_id = 0
    for name, classes in (
        ("Ebay_train.txt", range(1, train_classes + 1)),
        ("Ebay_test.txt", range(train_classes + 1, train_classes + test_classes + 1)),
    ):
        rows = [header]
        for class_id in classes:
            super_id = (class_id - 1) % len(categories) + 1
            for j in range(per_class):
                image_id += 1
                relative = f"{categories[super_id - 1]}/{111085122870 + class_id}_{j}.JPG"
                write_image(root / relative, image_id)
                rows.append(f"{image_id} {class_id} {super_id} {relative}")
        (root / name).write_text("\n".join(rows) + "\n")
    return root


INSHOP_ROWS = [
    # (item, status, count)
    ("id_00000002", "train", 2),
    ("id_00000004", "query", 1),
    ("id_00000004", "gallery", 2),
    ("id_00000007", "train", 3),
    ("id_00000008", "query", 2),
    ("id_00000008", "gallery", 1),
    ("id_00000011", "train", 2),
    ("id_00000012", "query", 1),
    ("id_00000012", "gallery", 1),
    ("id_00000015", "train", 2),
]


def make_inshop(parent: Path) -> Path:
    """``parent/Inshop_Clothes`` with Eval/list_eval_partition.txt and Img/img/... images."""
    root = parent / "Inshop_Clothes"
    rows = []
    for n, (item, status, count) in enumerate(INSHOP_ROWS):
        for j in range(count):
            name = f"img/WOMEN/Dresses/{item}/{n:02d}_{j + 1}_front.jpg"
            write_image(root / "Img" / name, len(rows))
            rows.append(f"{name}  {item}  {status}")
    text = f"{len(rows)}\nimage_name item_id evaluation_status\n" + "\n".join(rows) + "\n"
    (root / "Eval").mkdir(parents=True)
    (root / "Eval" / "list_eval_partition.txt").write_text(text)
    return root


def make_folder(parent: Path, classes: dict[str, int]) -> Path:
    root = parent / "my_data"
    for k, (name, count) in enumerate(classes.items()):
        for j in range(count):
            write_image(root / name / f"img_{j}.png", k * 10 + j)
    return root
