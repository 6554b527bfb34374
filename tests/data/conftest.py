"""Fixtures of fake dataset trees in the authors' real layouts (built by dataset_trees)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataset_trees import make_cars196, make_cub, make_inshop, make_sop


@pytest.fixture(scope="session")
def cub_root(tmp_path_factory) -> Path:
    return make_cub(tmp_path_factory.mktemp("cub"))


@pytest.fixture(scope="session")
def cars_root(tmp_path_factory) -> Path:
    return make_cars196(tmp_path_factory.mktemp("cars"))


@pytest.fixture(scope="session")
def sop_root(tmp_path_factory) -> Path:
    return make_sop(tmp_path_factory.mktemp("sop"))


@pytest.fixture(scope="session")
def inshop_root(tmp_path_factory) -> Path:
    return make_inshop(tmp_path_factory.mktemp("inshop"))


@pytest.fixture
def small_cub(tmp_path) -> Path:
    """A CUB tree with 8 classes x 2 images that a test may damage."""
    return make_cub(tmp_path, num_classes=8)
